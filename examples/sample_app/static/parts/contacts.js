// The sidebar: contacts (add by name; tick to invite; a meeting role each; Chat and Call),
// and the group calls and meetings you host or are invited to, each with a Join button.

import { $, h, initials, hueOf } from "./elements.js";

export class Contacts {
  friends = []; // [{ name, userId, threadId }]
  directory = []; // [{ name, userId }] of everyone signed in (names of meeting guests)
  groupCalls = [];
  meetings = [];
  #api;
  #actions;
  #generation = 0;
  #unread = new Set();

  /**
   * @param {import("./app-api.js").AppApi} api
   * @param {{ chat(friend): void, call(friend): void, join(invitation): void }} actions
   */
  constructor(api, actions) {
    this.#api = api;
    this.#actions = actions;
    $("add-friend").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("friend-name");
      try {
        await this.#api.request("POST", "/api/friends", { name: input.value });
        input.value = "";
        input.removeAttribute("aria-invalid");
        await this.refresh();
      } catch (error) {
        input.setAttribute("aria-invalid", "true");
        $("status").textContent = String(error.message);
      }
    });
    $("create-group-call").onclick = async () => {
      const invite = this.ticked().map((t) => t.name);
      const call = await this.#api.request("POST", "/api/groupcalls", { invite });
      await this.refreshInvitations();
      this.#actions.join(this.#groupInvitation(call));
    };
    $("create-meeting").onclick = async () => {
      const meeting = await this.#api.request("POST", "/api/meetings", { invite: this.ticked() });
      await this.refreshInvitations();
      this.#actions.join(this.#meetingInvitation(meeting));
    };
    $("join-room").addEventListener("submit", (event) => {
      event.preventDefault();
      const roomId = $("room-id").value.trim();
      const known = this.meetings.find((m) => m.roomId === roomId);
      this.#actions.join(known ? this.#meetingInvitation(known) : {
        locator: { roomId }, kind: "room", title: "Meeting", role: null,
      });
    });
  }

  nameOf = (userId) =>
    [...this.friends, ...this.directory].find((f) => f.userId === userId)?.name ?? "Guest";

  /** A contact (or anyone signed in) by name: { name, userId }, or undefined. */
  friendNamed = (name) =>
    this.friends.find((f) => f.name === name) ?? this.directory.find((u) => u.name === name);

  friendOfThread = (threadId) => this.friends.find((f) => f.threadId === threadId);

  /** The ticked contacts, with the meeting role chosen for each. */
  ticked() {
    return [...$("friends").querySelectorAll("li[data-name]")]
      .filter((li) => li.querySelector("input[type=checkbox]").checked)
      .map((li) => ({ name: li.dataset.name, role: li.querySelector("select").value }));
  }

  markUnread(friend, unread) {
    if (unread) this.#unread.add(friend.name);
    else this.#unread.delete(friend.name);
    const li = $(`friend-${friend.name}`);
    li?.classList.toggle("unread", unread);
    const badge = li?.querySelector(".badge");
    if (badge) badge.hidden = !unread;
  }

  select(friend) {
    for (const li of $("friends").children) li.classList.toggle("selected", li.dataset.name === friend?.name);
  }

  // Refreshes overlap (a chatThreadCreated event and an Add both start one) and their answers
  // can arrive out of order: only the newest started refresh may render.
  async refresh() {
    const generation = ++this.#generation;
    const friends = await this.#api.request("GET", "/api/friends");
    if (generation !== this.#generation) return;
    this.friends = friends;
    const kept = new Map(this.ticked().map((t) => [t.name, t.role]));
    const selected = $("friends").querySelector("li.selected")?.dataset.name;
    $("friends").replaceChildren(...friends.map((friend) => this.#row(friend, kept, selected)));
    if (!friends.length) {
      $("friends").append(h("li", { class: "empty" }, "No contacts yet: add someone by name."));
    }
  }

  #row(friend, kept, selected) {
    const name = friend.name;
    const unread = this.#unread.has(name);
    const li = h(
      "li",
      { id: `friend-${name}`, "data-name": name,
        class: [name === selected ? "selected" : "", unread ? "unread" : ""].join(" ").trim() },
      h(
        "div",
        { class: "contact-main" },
        h("input", { type: "checkbox", id: `invite-${name}`, checked: kept.has(name),
          "aria-label": `Invite ${name}` }),
        h("span", { class: "avatar small", style: `--hue:${hueOf(name)}`, "aria-hidden": "true" },
          initials(name)),
        h("span", { class: "friend-name" }, name, " ",
          h("span", { class: "badge", hidden: !unread }, "new")),
        h("button", { type: "button", class: "chat", "aria-label": `Chat with ${name}`,
          onclick: () => this.#actions.chat(friend) }, "Chat"),
        h("button", { type: "button", class: "call primary", "aria-label": `Video call ${name}`,
          onclick: () => this.#actions.call(friend) }, "Call"),
      ),
      h(
        "div",
        { class: "contact-extra" },
        h("span", { "aria-hidden": "true" }, "Meeting role"),
        h(
          "select",
          { class: "role", "aria-label": `${name}'s role in a meeting` },
          h("option", {}, "Attendee"),
          h("option", {}, "Consumer"),
        ),
      ),
    );
    if (kept.has(name)) li.querySelector("select").value = kept.get(name);
    return li;
  }

  /** Group calls and meetings you host or are invited to, each with a Join button. */
  async refreshInvitations() {
    const [calls, meetings, directory] = await Promise.all([
      this.#api.request("GET", "/api/groupcalls"),
      this.#api.request("GET", "/api/meetings"),
      this.#api.request("GET", "/api/directory"),
    ]);
    this.groupCalls = calls;
    this.meetings = meetings;
    this.directory = directory;
    const item = (invitation, text) =>
      h(
        "li",
        {},
        h("span", {}, text),
        h("button", { type: "button", class: "join", "aria-label": `Join ${invitation.title}`,
          onclick: () => this.#actions.join(invitation) }, "Join"),
      );
    $("group-calls").replaceChildren(
      ...calls.map((call) => {
        const invitation = this.#groupInvitation(call);
        const who = call.host === this.#api.me.name ? `you → ${call.invited.join(", ")}` : call.host;
        return item(invitation, `Group call (${who})`);
      }),
    );
    $("meetings").replaceChildren(
      ...meetings.map((meeting) => {
        const invitation = this.#meetingInvitation(meeting);
        return item(invitation, `${invitation.title} (you: ${invitation.role})`);
      }),
    );
  }

  invitationFor(metadata) {
    if (metadata?.groupCallId) {
      const call = this.groupCalls.find((c) => c.groupCallId === metadata.groupCallId);
      return call ? this.#groupInvitation(call) : null;
    }
    if (metadata?.roomId) {
      const meeting = this.meetings.find((m) => m.roomId === metadata.roomId);
      return meeting ? this.#meetingInvitation(meeting) : null;
    }
    return null;
  }

  #groupInvitation(call) {
    const mine = call.host === this.#api.me.name;
    return { locator: { groupId: call.groupCallId }, kind: "group", role: null, host: call.host,
      title: mine ? "your group call" : `${call.host}'s group call` };
  }

  #meetingInvitation(meeting) {
    const role = meeting.roster.find((e) => e.name === this.#api.me.name)?.role ?? null;
    const mine = meeting.organiser === this.#api.me.name;
    return { locator: { roomId: meeting.roomId }, kind: "room", role, host: meeting.organiser,
      title: mine ? "your meeting" : `${meeting.organiser}'s meeting` };
  }
}
