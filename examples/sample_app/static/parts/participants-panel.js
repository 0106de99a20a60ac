// The "People" panel of a call: everyone in it with their role, muted mark and state, and for
// a meeting's Presenter the lobby's admit list (Admit / Decline, Admit everyone). The panel
// opens by itself when someone starts waiting, so the organiser notices.

import { $, h, initials, hueOf, announce } from "./elements.js";

const ROOM_ROLES = new Set(["Presenter", "Attendee", "Consumer", "Collaborator"]);

export class ParticipantsPanel {
  #call;
  #ui;
  #cleanups = [];
  #watched = new Set();

  /** @param {any} call @param {{ nameOf(id: string): string, me: string }} ui */
  constructor(call, ui) {
    this.#call = call;
    this.#ui = ui;
    const render = () => this.render();
    this.#listen(call, "remoteParticipantsUpdated", ({ added }) => {
      added.forEach((p) => this.#watch(p));
      render();
    });
    for (const name of ["isMutedChanged", "roleChanged", "stateChanged"]) this.#listen(call, name, render);
    call.remoteParticipants.forEach((p) => this.#watch(p));
    const lobby = this.#lobby();
    if (lobby) {
      this.#listen(lobby, "lobbyParticipantsUpdated", ({ added } = {}) => {
        this.#showLobby();
        if (added?.length) {
          const names = added.map((p) => this.#nameOf(p)).join(", ");
          announce(`${names} ${added.length > 1 ? "are" : "is"} waiting in the lobby`);
          this.open(true);
        }
      });
      $("admit-all").onclick = () => lobby.admitAll?.() ?? lobby.participants.forEach((p) => lobby.admit(p));
    }
    $("participants-toggle").onclick = () => this.open($("participants").hidden);
    this.render();
    this.#showLobby();
  }

  open(on) {
    $("participants").hidden = !on;
    $("participants-toggle").setAttribute("aria-expanded", String(on));
  }

  dispose() {
    this.#cleanups.forEach((off) => off());
    $("participant-list").replaceChildren();
    $("lobby-list").replaceChildren();
    $("lobby").hidden = true;
    this.open(false);
  }

  render() {
    const call = this.#call;
    const row = (key, name, role, muted, state, you = false) =>
      h(
        "li",
        { id: `person-${key}`, class: "person" },
        h("span", { class: "avatar small", style: `--hue:${hueOf(name)}`, "aria-hidden": "true" },
          initials(name)),
        h("span", { class: "person-name" }, you ? `${name} (you)` : name),
        ROOM_ROLES.has(role) ? h("span", { class: "pill role" }, role) : null,
        state && state !== "Connected" ? h("span", { class: "pill" }, state) : null,
        muted ? h("span", { class: "pill muted-pill" }, "Muted") : null,
      );
    const me = row("me", this.#ui.me, call.role, call.isMuted, null, true);
    const others = call.remoteParticipants.map((p) =>
      row(p.participantId, this.#nameOf(p), p.role, p.isMuted, p.state),
    );
    $("participant-list").replaceChildren(me, ...others);
    $("participants-toggle").textContent = `People (${others.length + 1})`;
  }

  #watch(participant) {
    if (this.#watched.has(participant)) return;
    this.#watched.add(participant);
    for (const name of ["isMutedChanged", "roleChanged", "stateChanged"]) {
      this.#listen(participant, name, () => this.render());
    }
  }

  #lobby() {
    const call = this.#call;
    return call.lobby ?? call.feature?.("Lobby") ?? null;
  }

  #showLobby() {
    const lobby = this.#lobby();
    const waiting = lobby?.participants ?? [];
    $("lobby").hidden = waiting.length === 0;
    $("lobby-list").replaceChildren(
      ...waiting.map((participant) => {
        const name = this.#nameOf(participant);
        return h(
          "li",
          { id: `lobby-${name}`, class: "person" },
          h("span", { class: "person-name" }, `${name} is waiting`),
          h("button", { type: "button", class: "admit primary", "aria-label": `Admit ${name}`,
            onclick: () => lobby.admit(participant) }, "Admit"),
          h("button", { type: "button", class: "reject", "aria-label": `Decline ${name}`,
            onclick: () => lobby.reject(participant) }, "Decline"),
        );
      }),
    );
  }

  #nameOf(participant) {
    const id = participant.identifier?.communicationUserId ?? participant.identifier?.rawId;
    return this.#ui.nameOf(id);
  }

  #listen(emitter, name, handler) {
    emitter.on(name, handler);
    this.#cleanups.push(() => emitter.off?.(name, handler));
  }
}
