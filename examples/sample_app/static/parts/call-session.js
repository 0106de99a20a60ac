// The call's life in the page: pre-join (for group calls and meetings) → in call (stage,
// controls, people, lobby) → end screen with the reason in words. Placing a 1:1 call or
// accepting one goes straight in, with the devices the pre-join screen already opened.
// The call in progress is remembered (call-memory.js): a reload rejoins it.

import { $, announce } from "./elements.js";
import { CallStage } from "./call-stage.js";
import { ControlBar } from "./control-bar.js";
import { ParticipantsPanel } from "./participants-panel.js";
import { endMessage } from "./end-reasons.js";
import { forgetCall, rememberCall, rememberedCall } from "./call-memory.js";

const STATE_TEXT = {
  None: "Starting…", Connecting: "Connecting…", Ringing: "Ringing…", InLobby: "In the lobby",
  Connected: "Connected", LocalHold: "On hold", RemoteHold: "Held by the other side",
  Disconnecting: "Leaving…", Disconnected: "Ended",
};

export class CallSession {
  call = null;
  /** { kind: "peer" | "group" | "room", title, other?, locator?, role?, friend? } */
  context = null;
  #pending = null; // the invitation the pre-join screen offers to join
  #views = [];
  #lastEnded = null;
  #leaving = false; // this page hung up

  /**
   * @param {{ agent: any, devices: import("./device-setup.js").DeviceSetup, sdk: any,
   *   me: () => { name: string }, nameOf(id: string): string, onBanner(): void }} deps
   */
  constructor(deps) {
    this.deps = deps;
    $("join-now").onclick = () => this.#pending && this.join(this.#pending);
    $("cancel-join").onclick = () => this.home();
    $("end-home").onclick = () => this.home();
    $("end-again").onclick = () => {
      const last = this.#lastEnded;
      if (last?.kind === "peer" && last.friend) this.callPerson(last.friend);
      else if (last?.locator) this.join(last);
    };
  }

  /** Show one of the stage's screens: "prejoin", "call" or "end". */
  show(screen) {
    $("prejoin").hidden = screen !== "prejoin";
    $("call").hidden = screen !== "call";
    $("end-screen").hidden = screen !== "end";
    if (screen !== "call") $("participants").hidden = true;
  }

  /** Back to the pre-join screen with nothing to join (calls start from the contacts). */
  home() {
    this.#pending = null;
    $("prejoin-title").textContent = "Ready when you are";
    $("prejoin-hint").textContent =
      "Check your camera and microphone. Call a contact, or join a group call or meeting.";
    $("prejoin-role").textContent = "";
    $("prejoin-actions").hidden = true;
    this.show("prejoin");
    this.deps.devices.resume().catch(() => {});
  }

  /** The pre-join screen for a group call or meeting: preview, devices, "Join now". */
  prepare(invitation) {
    if (this.call) return;
    this.#pending = invitation;
    $("prejoin-title").textContent = `Join ${invitation.title}`;
    $("prejoin-hint").textContent = "Choose your camera and microphone, then join.";
    const consumer = invitation.role === "Consumer";
    $("prejoin-role").textContent = consumer
      ? "You join as a Consumer: you watch and listen; your camera and microphone stay off."
      : invitation.role ? `You join as ${invitation.role}.` : "";
    this.deps.devices.setConsumer(consumer);
    if (!consumer) this.deps.devices.resume().catch(() => {});
    $("prejoin-actions").hidden = false;
    this.show("prejoin");
    $("join-now").focus();
  }

  callPerson(friend) {
    if (this.call) return;
    const call = this.deps.agent.startCall(
      [{ communicationUserId: friend.userId }],
      this.deps.devices.callOptions(),
    );
    this.follow(call, { kind: "peer", title: `Call with ${friend.name}`, other: friend.name, friend });
  }

  join(invitation) {
    if (this.call) return;
    this.#pending = null;
    this.deps.devices.setConsumer(invitation.role === "Consumer");
    const call = this.deps.agent.join(invitation.locator, this.deps.devices.callOptions());
    this.follow(call, { ...invitation });
  }

  async accept(incoming, caller) {
    if (this.call) await this.call.hangUp().catch(() => {});
    const call = await incoming.accept(this.deps.devices.callOptions());
    this.follow(call, {
      kind: "peer", title: `Call with ${caller?.name ?? "Guest"}`, other: caller?.name, friend: caller,
    });
  }

  /** Show `call` until it ends. */
  follow(call, context) {
    this.call = call;
    this.context = context;
    this.#leaving = false;
    if (context.kind === "peer") rememberCall({ kind: "peer", name: context.other, title: context.title });
    else rememberCall({ kind: context.kind, ...context.locator, title: context.title, role: context.role });
    $("call-with").textContent = context.title;
    this.show("call");
    const ui = {
      nameOf: this.deps.nameOf,
      me: this.deps.me().name,
      VideoStreamRenderer: this.deps.sdk.VideoStreamRenderer,
      startedWith: this.deps.devices.callOptions().videoOptions?.localVideoStreams?.[0],
    };
    const leaving = () => (this.#leaving = true);
    this.#views = [
      new CallStage(call, ui),
      new ControlBar(call, this.deps.devices, leaving),
      new ParticipantsPanel(call, ui),
    ];
    const showState = () => {
      $("call-state").textContent = STATE_TEXT[call.state] ?? call.state;
      $("call-state").dataset.state = call.state;
      $("lobby-wait").hidden = call.state !== "InLobby";
      if (call.state === "Connected") this.deps.devices.stopMeter(); // the call has the mic now
      if (call.state === "Disconnected") this.#ended(call);
    };
    const showRole = () => {
      const consumer = call.role === "Consumer";
      if (consumer) this.deps.devices.setConsumer(true);
      $("role").textContent = consumer
        ? "You are a Consumer: you watch and listen; your camera and microphone are off."
        : call.role && call.role !== "Unknown" ? `Your role: ${call.role}` : "";
    };
    call.on("stateChanged", showState);
    call.on("roleChanged", showRole);
    if ("isReconnecting" in call) {
      call.on("isReconnectingChanged", () => this.deps.onBanner());
    }
    showState();
    showRole();
    this.deps.onBanner();
    $("hang-up").focus();
  }

  /**
   * After a reload. An SDK that restores calls itself has them in `agent.calls` once the agent
   * is created (the 1:1 call too): show them. Otherwise join the group call or meeting again
   * by its locator; a 1:1 call offers to call again.
   * @param {(name: string) => any} findFriend @param {any[]} restored  the agent's calls
   */
  rejoinAfterReload(findFriend, restored = []) {
    const saved = rememberedCall();
    const call = restored.find((c) => c.state !== "Disconnected");
    if (call) {
      this.follow(call, this.#contextOf(call, saved, findFriend));
      announce(`Back in ${this.context.title}`);
      return true;
    }
    if (!saved) return false;
    if (saved.kind === "group" || saved.kind === "room") {
      const locator = saved.kind === "group" ? { groupId: saved.groupId } : { roomId: saved.roomId };
      this.join({ kind: saved.kind, locator, title: saved.title, role: saved.role ?? null });
      announce(`Rejoining ${saved.title}`);
      return true;
    }
    const friend = findFriend(saved.name);
    forgetCall();
    this.#lastEnded = { kind: "peer", friend, title: saved.title };
    const interrupted = `Your call with ${saved.name} was interrupted when the page reloaded.`;
    this.#showEnd(interrupted, "", Boolean(friend));
    $("end-again").textContent = "Call again";
    return true;
  }

  #contextOf(call, saved, findFriend) {
    if (saved?.kind === "peer") {
      const friend = findFriend(saved.name);
      return { kind: "peer", title: saved.title, other: saved.name, friend };
    }
    if (saved?.kind === "group" || saved?.kind === "room") {
      const locator = saved.kind === "group" ? { groupId: saved.groupId } : { roomId: saved.roomId };
      return { kind: saved.kind, locator, title: saved.title, role: saved.role ?? null };
    }
    return { kind: call.isConference ? "group" : "peer", title: "Your call" };
  }

  #ended(call) {
    if (this.call !== call) return;
    const context = this.context;
    this.#views.forEach((view) => view.dispose());
    this.#views = [];
    this.call = null;
    this.context = null;
    forgetCall();
    this.#lastEnded = context;
    const reason = call.callEndReason;
    const message = endMessage(reason, {
      other: context.other,
      conference: context.kind !== "peer",
      localHangUp: this.#leaving,
    });
    const code = reason ? `Call ended (${reason.code}/${reason.subCode})` : "";
    this.#showEnd(message, code, context.kind === "peer" ? Boolean(context.friend) : true);
    $("end-again").textContent = context.kind === "peer" ? "Call again" : "Rejoin";
    this.deps.onBanner();
  }

  #showEnd(message, code, again) {
    $("end-reason").textContent = message;
    $("end-code").textContent = code;
    $("end-again").hidden = !again;
    this.show("end");
    announce(message);
    $("end-home").focus();
  }
}
