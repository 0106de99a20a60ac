// The chat panel: the open conversation as bubbles (yours on the right) with their time, a
// typing indicator, and read receipts ("Seen" under your last message the other has read).
// Messages arrive in real time through Switchboard's chat module (/sdk/chat.js); sending,
// typing notifications and read receipts go through the app's server (/api/chat/...).

import { $, h, clockTime } from "./elements.js";

const TYPING_SEND_EVERY_MS = 5000; // at most one typing notification per 5 s (as ACS's SDK)
const TYPING_SHOWN_MS = 7000; // "is typing" disappears when nothing more is heard

export class ChatPanel {
  /** the friend whose chat is open: { name, userId, threadId } */
  selected = null;
  #api;
  #ui;
  #shown = new Set();
  #opening = null;
  #lastTypingSent = 0;
  #typingTimer = null;
  #lastReceiptSent = null;
  #readUpTo = null; // the other's latest read receipt in the open chat (a message id)

  /**
   * @param {import("./app-api.js").AppApi} api
   * @param {{ me: () => { userId: string }, nameOf(id: string): string,
   *   friendOfThread(threadId: string): any, markUnread(friend: any, unread: boolean): void }} ui
   */
  constructor(api, ui) {
    this.#api = api;
    this.#ui = ui;
    $("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send().catch((error) => this.#notice(`Not sent: ${error.message}`));
    });
    $("chat-input").addEventListener("input", () => this.#typing());
    document.addEventListener("visibilitychange", () => this.#sendReceipt());
  }

  async open(friend) {
    this.selected = friend;
    this.#ui.markUnread(friend, false);
    $("chat-with").textContent = `with ${friend.name}`;
    $("chat-input").disabled = $("chat-form").querySelector("button").disabled = false;
    $("chat-input").placeholder = `Message ${friend.name}`;
    $("messages").replaceChildren();
    $("typing").textContent = "";
    this.#shown = new Set();
    this.#readUpTo = null;
    const opening = (this.#opening = {});
    const path = `/api/chat/${encodeURIComponent(friend.name)}`;
    const [history, receipts] = await Promise.all([
      this.#api.request("GET", path),
      this.#api.request("GET", `${path}/receipts`).catch(() => []),
    ]);
    if (this.#opening !== opening) return; // another chat was opened meanwhile
    // Live messages shown while the history loaded are newer: the history goes before them.
    const first = $("messages").firstChild;
    for (const message of history) {
      const li = this.#bubble(message.id, message.senderId, message.message, message.createdOn);
      if (li) $("messages").insertBefore(li, first);
    }
    $("messages").lastElementChild?.scrollIntoView({ block: "end" });
    const theirs = receipts.filter((r) => r.senderId === friend.userId);
    if (theirs.length) this.#markRead(theirs[theirs.length - 1].chatMessageId);
    this.#sendReceipt();
  }

  async send() {
    const text = $("chat-input").value.trim();
    if (!text || !this.selected) return;
    $("chat-input").value = "";
    this.#lastTypingSent = 0;
    await this.#api.request("POST", `/api/chat/${encodeURIComponent(this.selected.name)}`, { text });
  }

  /** A live chatMessageReceived event. */
  onMessage(event) {
    const friend = this.#ui.friendOfThread(event.threadId);
    if (!friend) return;
    if (friend.name !== this.selected?.name) {
      if (event.sender.rawId !== this.#ui.me().userId) this.#ui.markUnread(friend, true);
      return;
    }
    const li = this.#bubble(event.id, event.sender.rawId, event.message, event.createdOn);
    if (!li) return;
    $("messages").append(li);
    li.scrollIntoView({ block: "end" });
    if (event.sender.rawId !== this.#ui.me().userId) {
      $("typing").textContent = "";
      this.#sendReceipt();
    }
  }

  onTyping(event) {
    const friend = this.#ui.friendOfThread(event.threadId);
    if (!friend || friend.name !== this.selected?.name) return;
    if (event.sender.rawId === this.#ui.me().userId) return;
    $("typing").textContent = `${friend.name} is typing…`;
    clearTimeout(this.#typingTimer);
    this.#typingTimer = setTimeout(() => ($("typing").textContent = ""), TYPING_SHOWN_MS);
  }

  onReadReceipt(event) {
    const friend = this.#ui.friendOfThread(event.threadId);
    if (!friend || friend.name !== this.selected?.name) return;
    if (event.sender.rawId === this.#ui.me().userId) return;
    this.#markRead(event.chatMessageId);
  }

  /** A message's bubble, or null when it is shown already (history and live overlap). */
  #bubble(id, senderId, text, createdOn) {
    if (this.#shown.has(id)) return null;
    this.#shown.add(id);
    const mine = senderId === this.#ui.me().userId;
    const name = mine ? "You" : this.#ui.nameOf(senderId);
    const li = h(
      "li",
      { class: `bubble ${mine ? "mine" : "theirs"}`, "data-id": id, "data-sender": senderId },
      h("span", { class: mine ? "sender visually-hidden" : "sender" }, name),
      h("p", { class: "text" }, text),
      h(
        "span",
        { class: "meta" },
        h("time", { datetime: createdOn ?? "" }, clockTime(createdOn)),
        mine ? h("span", { class: "receipt" }) : null,
      ),
    );
    if (mine && this.#readUpTo !== null) queueMicrotask(() => this.#markRead(this.#readUpTo));
    return li;
  }

  /** The other has read everything up to `messageId`: "Seen" under your last such message. */
  #markRead(messageId) {
    this.#readUpTo = messageId;
    const bubbles = [...$("messages").children];
    let upTo = bubbles.findIndex((li) => li.dataset.id === messageId);
    if (upTo < 0) {
      upTo = -1;
      bubbles.forEach((li, i) => {
        if (Number(li.dataset.id) <= Number(messageId)) upTo = i;
      });
    }
    const mine = bubbles.filter((li, i) => li.classList.contains("mine") && i <= upTo);
    for (const li of bubbles) {
      const receipt = li.querySelector(".receipt");
      if (receipt) receipt.textContent = "";
      li.classList.toggle("read", mine.includes(li));
    }
    const last = mine[mine.length - 1];
    if (last) last.querySelector(".receipt").textContent = "Seen";
  }

  /** Tell the other we read their latest message (when this tab is visible). */
  #sendReceipt() {
    if (!this.selected || document.visibilityState !== "visible") return;
    const theirs = [...$("messages").querySelectorAll(".bubble.theirs")];
    const last = theirs[theirs.length - 1]?.dataset.id;
    if (!last || last === this.#lastReceiptSent) return;
    this.#lastReceiptSent = last;
    const path = `/api/chat/${encodeURIComponent(this.selected.name)}/read`;
    this.#api.request("POST", path, { messageId: last }).catch(() => (this.#lastReceiptSent = null));
  }

  #typing() {
    if (!this.selected || !$("chat-input").value) return;
    const now = Date.now();
    if (now - this.#lastTypingSent < TYPING_SEND_EVERY_MS) return;
    this.#lastTypingSent = now;
    const path = `/api/chat/${encodeURIComponent(this.selected.name)}/typing`;
    this.#api.request("POST", path).catch(() => {});
  }

  #notice(text) {
    $("typing").textContent = text;
  }
}
