// Toasts that ring: an incoming call (Accept / Decline) and group-call or meeting invitations
// (Join / Dismiss). The ringtone plays while any of them waits; an invitation goes away by
// itself after a while, a call when the caller gives up (the IncomingCall's callEnded).

import { $, h, announce } from "./elements.js";
import { Ringtone } from "./ringtone.js";

const INVITATION_RINGS_MS = 30_000;

export class CallToasts {
  ringtone = new Ringtone();
  /** the ringing IncomingCall */
  incoming = null;
  #invitations = new Map(); // key → toast element

  /** @param {{ accept(incoming): void, decline(incoming): void, join(invitation): void }} actions */
  constructor(actions) {
    $("accept").onclick = () => {
      const incoming = this.incoming;
      this.hideIncoming();
      if (incoming) actions.accept(incoming);
    };
    $("reject").onclick = () => {
      const incoming = this.incoming;
      this.hideIncoming();
      if (incoming) actions.decline(incoming);
    };
    this.actions = actions;
  }

  /** @param {any} incomingCall @param {string} from */
  ring(incomingCall, from) {
    this.incoming = incomingCall;
    $("incoming-from").textContent = from;
    $("incoming").hidden = false;
    $("incoming").dataset.ringing = "true";
    announce(`${from} is calling you`);
    this.ringtone.start();
    $("accept").focus();
    incomingCall.on("callEnded", () => {
      if (this.incoming === incomingCall) this.hideIncoming();
    });
  }

  hideIncoming() {
    this.incoming = null;
    $("incoming").hidden = true;
    delete $("incoming").dataset.ringing;
    this.#quietIfDone();
  }

  /** An invitation to a group call or meeting: a toast that rings for a while. */
  invite(invitation, text) {
    const key = JSON.stringify(invitation.locator);
    if (this.#invitations.has(key)) return;
    const close = () => {
      toast.remove();
      this.#invitations.delete(key);
      this.#quietIfDone();
    };
    const toast = h(
      "div",
      { class: "toast invitation", role: "alertdialog", "aria-label": text, "data-ringing": "true" },
      h("p", {}, text),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: () => {
          close();
          this.actions.join(invitation);
        } }, "Join"),
        h("button", { type: "button", onclick: close }, "Dismiss"),
      ),
    );
    $("toasts").append(toast);
    this.#invitations.set(key, toast);
    announce(text);
    this.ringtone.start();
    setTimeout(close, INVITATION_RINGS_MS);
  }

  dismissInvitations() {
    for (const toast of this.#invitations.values()) toast.remove();
    this.#invitations.clear();
    this.#quietIfDone();
  }

  #quietIfDone() {
    if (!this.incoming && this.#invitations.size === 0) this.ringtone.stop();
  }
}
