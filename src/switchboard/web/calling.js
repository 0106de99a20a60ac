// Switchboard calling SDK for browsers, shaped like ACS's calling SDK
// (`@azure/communication-calling`): CallClient → CallAgent → Call. An ES module with no build
// step and no dependencies; docs/calling-sdk.md maps it to ACS's names.
//
//   const client = new CallClient({ endpoint: "https://switchboard.example.com:8443" });
//   const agent = await client.createCallAgent(tokenCredential, { displayName: "Alice" });
//   agent.on("incomingCall", async ({ incomingCall }) => { await incomingCall.accept(); });
//   const call = agent.startCall([{ communicationUserId: bobId }], { videoOptions });
//   call.on("stateChanged", () => console.log(call.state));    // Connecting … Connected
//   const meeting = agent.join({ roomId }, { videoOptions });  // or { groupId }: via the SFU
//
// The agent is one registered device on the signaling WebSocket (calling-signaling.js, which
// reconnects and resumes on its own: calls and their media survive a socket drop); each Call
// owns an RTCPeerConnection (calling-call.js).

import { Emitter, report } from "./ws-session.js";
import { Call } from "./calling-call.js";
import { DEFAULT_END_MESSAGE, END_REASON_MESSAGES, endReasonMessage } from "./calling-end-reasons.js";
import { DataChannel, DominantSpeakers, Features, Lobby } from "./calling-features.js";
import { RemoteParticipant } from "./calling-participant.js";
import { DataChannelError, DataChannelReceiver, DataChannelSender } from "./calling-datachannel.js";
import {
  DeviceManager,
  LocalVideoStream,
  RemoteVideoStream,
  VideoStreamRenderer,
  VideoStreamRendererView,
} from "./calling-media.js";
import { PROTOCOL, Signaling, SignalingCloseCode, SignalingError } from "./calling-signaling.js";
import { registerPush, unregisterPush } from "./push.js";
import { RELOAD_KEY, saveForReload, takeSaved } from "./calling-reload.js";

export {
  Call,
  DataChannel,
  DataChannelError,
  DataChannelReceiver,
  DataChannelSender,
  DEFAULT_END_MESSAGE,
  DeviceManager,
  END_REASON_MESSAGES,
  endReasonMessage,
  DominantSpeakers,
  Features,
  Lobby,
  LocalVideoStream,
  PROTOCOL,
  RELOAD_KEY,
  RemoteParticipant,
  RemoteVideoStream,
  SignalingCloseCode,
  SignalingError,
  VideoStreamRenderer,
  VideoStreamRendererView,
};

/**
 * @typedef {import("./calling-events.js").CallEndReason} CallEndReason
 * @typedef {import("./calling-events.js").CommunicationUserIdentifier} CommunicationUserIdentifier
 * @typedef {import("./calling-call.js").CallOptions} CallOptions
 * @typedef {import("./calling-call.js").StartCallOptions} StartCallOptions
 * @typedef {import("./calling-events.js").PhoneNumberTarget} PhoneNumberTarget
 * @typedef {import("./calling-call.js").CallPort} CallPort
 * @typedef {import("./calling-call.js").DtmfTone} DtmfTone
 * @typedef {import("./calling-call.js").GroupLocator} GroupLocator
 * @typedef {import("./calling-call.js").RoomLocator} RoomLocator
 * @typedef {import("./calling-signaling.js").Registration} Registration
 * @typedef {import("./calling-signaling.js").ServerFrame} ServerFrame
 * @typedef {import("./calling-signaling.js").WebSocketConstructor} WebSocketConstructor
 * @typedef {import("./push.js").DeviceToken} DeviceToken
 *
 * @typedef {{ token: string } | string} AccessTokenLike
 * @typedef {{ getToken(options?: object): Promise<AccessTokenLike> | AccessTokenLike }}
 *   TokenCredential  e.g. `AzureCommunicationTokenCredential` from @azure/communication-common.
 * @typedef {"Connected" | "Disconnected"} ConnectionState
 *
 * @typedef {object} CallClientOptions
 * @property {string} endpoint  Switchboard's endpoint (ACS finds it in the token; we cannot).
 * @property {number} [initialReconnectDelayMs]  First signaling reconnect delay (default 500).
 * @property {number} [maxReconnectDelayMs]  Backoff ceiling (default 10000).
 * @property {WebSocketConstructor} [WebSocket]  The transport (default: the global one).
 * @typedef {object} CallAgentOptions
 * @property {string} [displayName]
 * @property {boolean} [resumeCallsAfterReload]  A page reloaded mid-call comes back to its
 *   calls (default true): the new page's agent has them in `calls` once created (below).

 * @typedef {import("./calling-reload.js").SavedAgent} SavedAgent
 *
 * @typedef {{ incomingCall: { incomingCall: IncomingCall },
 *   callsUpdated: { added: Call[], removed: Call[] },
 *   connectionStateChanged: { oldValue: ConnectionState, newValue: ConnectionState,
 *     reason?: string } }} CallAgentEvents
 * @typedef {import("./calling-call.js").CallEndReasonWithMessage} CallEndReasonWithMessage
 * @typedef {{ callEnded: { callEndReason: CallEndReasonWithMessage } }} IncomingCallEvents
 */

export class CallClient {
  #options;
  #devices = new DeviceManager();

  /** @param {CallClientOptions} options */
  constructor(options) {
    if (!options || typeof options.endpoint !== "string") {
      throw new TypeError("CallClient: `endpoint` is required");
    }
    new URL(options.endpoint); // fail fast on a malformed endpoint
    this.#options = options;
  }

  /**
   * Register this browser as a device of the token's user (the token needs the `voip` scope).
   * Rejects if the server refuses the token for good (4003/4006/4009); network failures are
   * retried, so it may stay pending while offline.
   * @param {TokenCredential | string} credential
   * @param {CallAgentOptions} [options]
   * @returns {Promise<CallAgent>}
   */
  async createCallAgent(credential, options = {}) {
    const agent = new CallAgent(this.#options, credential, this.#devices, options);
    await agent._start();
    return agent;
  }

  /** @returns {Promise<DeviceManager>} */
  async getDeviceManager() {
    return this.#devices;
  }
}

/** @extends {Emitter<CallAgentEvents>} */
export class CallAgent extends Emitter {
  /** @type {Call[]} Calls placed or accepted here and not yet Disconnected. */
  calls = [];
  /** @type {ConnectionState} */
  connectionState = "Disconnected";
  /** @type {string | null} The registered user (from the register ack). */
  userId = null;
  #signaling;
  /** @type {RTCIceServer[]} */
  #iceServers = [];
  /** Every call this device knows, by id (ringing ones too). @type {Map<string, Call>} */
  #byId = new Map();
  /** @type {CallPort} */
  #port;
  /** Leaves when the page goes away (see the constructor). */
  #onPageHide = () => this.#leaveNow("The page was closed.", this.#saveForReload());
  #endpoint;
  #credential;
  /** What the previous page of this tab left to resume (a reload mid-call). @type {SavedAgent | null} */
  #saved = null;
  #resumeAfterReload;
  /** The locator each group or Room call was joined with (to join again after a reload).
   * @type {WeakMap<Call, GroupLocator | RoomLocator>} */
  #locators = new WeakMap();

  /**
   * @internal Use CallClient.createCallAgent.
   * @param {CallClientOptions} options
   * @param {TokenCredential | string} credential
   * @param {DeviceManager} devices
   * @param {CallAgentOptions} agentOptions
   */
  constructor(options, credential, devices, agentOptions) {
    super();
    this.displayName = agentOptions.displayName;
    this.#endpoint = options.endpoint;
    this.#credential = credential;
    this.#resumeAfterReload = agentOptions.resumeCallsAfterReload !== false;
    this.#saved = this.#resumeAfterReload ? takeSaved(options.endpoint) : null;
    this.#signaling = new Signaling({
      endpoint: options.endpoint,
      getToken: (refresh) => tokenOf(credential, refresh),
      onFrame: (frame) => this.#onFrame(frame),
      onRegistered: (registration) => this.#onRegistered(registration),
      onConnection: (connected) => this.#setConnection(connected ? "Connected" : "Disconnected"),
      onClosed: (code, reason) => this.#onClosed(code, reason),
      initialReconnectDelayMs: options.initialReconnectDelayMs,
      maxReconnectDelayMs: options.maxReconnectDelayMs,
      WebSocket: options.WebSocket,
      resume: this.#saved ? { deviceId: this.#saved.deviceId, lastSeq: this.#saved.lastSeq } : undefined,
    });
    this.#port = {
      request: (type, fields, onAck) => this.#signaling.request(type, fields, onAck),
      iceServers: () => this.#iceServers,
      devices,
      displayName: agentOptions.displayName,
      track: (call) => this.#track(call),
      ended: (call) => this.#ended(call),
    };
    // A closed tab or a reload must not leave the other side ringing or looking at a frozen
    // picture until the server's reconnect grace runs out: unregister now, which ends this
    // device's calls on the server at once (nothing can be awaited in pagehide).
    globalThis.addEventListener?.("pagehide", this.#onPageHide);
  }

  /** @internal */
  async _start() {
    await this.#signaling.start();
  }

  /** The signaling connection, for tests and diagnostics. @internal */
  get _signaling() {
    return this.#signaling;
  }

  /**
   * Call one user, or one phone number (ACS's shape: a list, of exactly one participant for
   * now). A phone number needs `options.alternateCallerId`: a number of the resource with
   * outbound calling, which the phone sees; the call's media goes through the SFU and it is
   * routed by the server's SIP routes (else the voice simulator). docs/calling-sdk.md.
   * @param {(CommunicationUserIdentifier | PhoneNumberTarget)[]} participants
   * @param {StartCallOptions} [options]
   * @returns {Call} at once, in state Connecting; it rings, then connects or ends.
   */
  startCall(participants, options = {}) {
    if (!Array.isArray(participants) || participants.length !== 1) {
      throw new TypeError("startCall takes exactly one participant (join() makes group calls)");
    }
    const call = new Call(this.#port, "Outgoing");
    this.#addCall(call);
    call._place(participants[0], options).catch(report);
    return call;
  }

  /**
   * Join (or start) a group call, or join a Room's call (ACS's `join(locator, options)`).
   * Media goes through the server's SFU; in a Room, users not on its roster wait `InLobby`
   * until a Presenter admits them.
   * @param {GroupLocator | RoomLocator} locator  `{ groupId }` (a GUID) or `{ roomId }`
   * @param {CallOptions} [options]
   * @returns {Call} at once, in state Connecting; then Connected (or InLobby), or it ends
   *   (403: refused, e.g. no such room; 500: a local failure such as no microphone).
   */
  join(locator, options = {}) {
    const groupId = /** @type {{ groupId?: unknown }} */ (locator)?.groupId;
    const roomId = /** @type {{ roomId?: unknown }} */ (locator)?.roomId;
    if (typeof groupId !== "string" && typeof roomId !== "string") {
      throw new TypeError("join takes { groupId } or { roomId }");
    }
    const call = new Call(this.#port, "Outgoing");
    this.#locators.set(call, locator);
    this.#addCall(call);
    call._join(locator, options).catch(report);
    return call;
  }

  /**
   * Have this device pushed while its page is closed (ACS's registerPushNotification): the
   * `PushSubscription` of the app's service worker, or `{ kind, token }` of a native wrapper.
   * A call then rings this device's push target when it has no signaling connection.
   * @param {DeviceToken} deviceToken
   */
  async registerPushNotification(deviceToken) {
    await registerPush(this.#endpoint, await tokenOf(this.#credential, false) ?? "",
      this.#deviceId(), deviceToken);
  }

  /** Stop pushing this device (ACS's unregisterPushNotification). */
  async unregisterPushNotification() {
    await unregisterPush(this.#endpoint, await tokenOf(this.#credential, false) ?? "",
      this.#deviceId());
  }

  /**
   * A push this app received (ACS's handlePushNotification): an incoming call still ringing
   * rings here too (the `incomingCall` event); a cancel ends one ringing here.
   * @param {{ type?: string, callId?: string, owner?: string }} payload
   */
  async handlePushNotification(payload) {
    const callId = String(payload?.callId ?? "");
    if (payload?.type === "incomingCall") {
      if (this.#byId.has(callId)) return; // rang here already
      await this.#signaling.request("pushReceived", { callId, owner: payload.owner });
    } else if (payload?.type === "callCancelled") {
      const call = this.#byId.get(callId);
      if (call && call.state === "Ringing") {
        call._end({ code: 487, subCode: 0, phrase: "The call was cancelled." });
      }
    }
  }

  #deviceId() {
    const id = this.#signaling.deviceId;
    if (id === null) throw new Error("the agent has no registered device yet");
    return id;
  }

  /** Hang up every call, unregister this device and close the connection. */
  async dispose() {
    await Promise.allSettled(this.calls.map((call) => call.hangUp()));
    this.#leaveNow("The call agent was disposed.");
  }

  /** Unregister (the server ends this device's calls) and end the calls here, synchronously.
   * @param {string} phrase @param {string[]} [keepCalls]  1:1 calls a reload resumes */
  #leaveNow(phrase, keepCalls = []) {
    globalThis.removeEventListener?.("pagehide", this.#onPageHide);
    this.#signaling.stop(keepCalls);
    this.#endAll({ code: 0, subCode: 0, phrase });
    this.#setConnection("Disconnected");
  }

  /** @param {ServerFrame} frame */
  #onFrame(frame) {
    const callId = String(frame.callId ?? "");
    const call = this.#byId.get(callId);
    if (call) {
      call._onFrame(frame);
    } else if (frame.type === "incomingCall") {
      const incoming = new Call(this.#port, "Incoming", {
        id: callId,
        caller: frame.caller,
        offer: frame.offer,
        conference: frame.conference === true,
      });
      this.#byId.set(callId, incoming);
      const incomingCall = new IncomingCall(incoming, this.#port, () => this.#addCall(incoming));
      this._emit("incomingCall", { incomingCall });
    }
  }

  /** @param {Registration} registration */
  #onRegistered(registration) {
    this.userId = registration.userId;
    this.#iceServers = Array.isArray(registration.iceServers) ? registration.iceServers : [];
    // Calls the server no longer has for this device (it was forgotten while away) are over.
    const known = new Set(registration.calls ?? []);
    for (const call of [...this.#byId.values()]) {
      if (call.id && !known.has(call.id)) {
        call._end({
          code: 496,
          subCode: 7,
          phrase: "The call ended: the network was away longer than the server keeps a call.",
        });
      }
    }
    for (const call of this.calls) call._signalingChanged(true); // those that go on
    if (this.#saved) this.#resumeSaved(registration);
  }

  /**
   * The page is going away with calls in progress: keep what a reload of this tab needs to
   * come back to them (sessionStorage), and return the 1:1 calls the server should keep for
   * the new page (it ends the others for this device now; group calls are joined again).
   * @returns {string[]}
   */
  #saveForReload() {
    const deviceId = this.#signaling.deviceId;
    if (!this.#resumeAfterReload || deviceId === null || this.userId === null) return [];
    return saveForReload(
      { endpoint: this.#endpoint, userId: this.userId, deviceId, lastSeq: this.#signaling.lastSeq },
      this.calls,
      (call) => this.#locators.get(call),
    );
  }

  /**
   * This page replaced one that left mid-call (a reload): the 1:1 calls the server kept for
   * the device come back (a new peer connection offers them again); group and Room calls are
   * joined again (the server ended the old participant when the page went). Each is in
   * `calls` (and `callsUpdated`) when createCallAgent resolves.
   * @param {Registration} registration
   */
  #resumeSaved(registration) {
    const saved = this.#saved;
    this.#saved = null;
    if (!saved || saved.userId !== registration.userId) return;
    const kept = new Set(registration.resumed ? registration.calls ?? [] : []);
    for (const call of saved.calls) {
      /** @type {CallOptions} */
      const options = {
        audioOptions: { muted: call.muted },
        videoOptions: call.video ? { localVideoStreams: [new LocalVideoStream()] } : undefined,
      };
      if (call.conference) {
        this.join(call.locator, options);
      } else if (kept.has(call.id)) {
        const resumed = new Call(this.#port, call.direction, {
          id: call.id,
          caller: call.participant,
        });
        this.#byId.set(call.id, resumed);
        resumed._resume(call.participantId, options).catch(report); // Connected at once
        this.#addCall(resumed);
      }
    }
  }

  /** @param {number} code @param {string} reason */
  #onClosed(code, reason) {
    this.#endAll({ code, subCode: 0, phrase: reason });
    this.#setConnection("Disconnected", reason);
  }

  /** @param {CallEndReason} reason */
  #endAll(reason) {
    for (const call of [...this.#byId.values(), ...this.calls]) call._end(reason);
  }

  /** @param {ConnectionState} state @param {string} [reason] */
  #setConnection(state, reason) {
    if (state === "Disconnected") for (const call of this.calls) call._signalingChanged(false);
    if (state === this.connectionState) return;
    const oldValue = this.connectionState;
    this.connectionState = state;
    this._emit("connectionStateChanged", { oldValue, newValue: state, reason });
  }

  /** @param {Call} call */
  #track(call) {
    // A call whose id changed (an app answered it: callConverted) is known by the new one only.
    for (const [id, known] of this.#byId) if (known === call && id !== call.id) this.#byId.delete(id);
    this.#byId.set(call.id, call);
  }

  /** @param {Call} call */
  #addCall(call) {
    if (this.calls.includes(call)) return;
    this.calls = [...this.calls, call];
    this._emit("callsUpdated", { added: [call], removed: [] });
  }

  /** @param {Call} call */
  #ended(call) {
    this.#byId.delete(call.id);
    if (!this.calls.includes(call)) return;
    this.calls = this.calls.filter((c) => c !== call);
    this._emit("callsUpdated", { added: [], removed: [call] });
  }
}

/**
 * A call ringing on this device: `accept()` it (→ Call) or `reject()` it. `callEnded` fires
 * if it stops ringing first (the caller gave up, another device answered, it rang out).
 * @extends {Emitter<IncomingCallEvents>}
 */
export class IncomingCall extends Emitter {
  #call;
  #port;
  #onAccept;
  /** @type {CallEndReasonWithMessage | undefined} */
  callEndReason = undefined;

  /**
   * @internal Made by the CallAgent that rang.
   * @param {Call} call  In state Ringing; joins the agent's `calls` when accepted.
   * @param {CallPort} port
   * @param {() => void} onAccept
   */
  constructor(call, port, onAccept) {
    super();
    this.#call = call;
    this.#port = port;
    this.#onAccept = onAccept;
    this.id = call.id;
    const caller = call.remoteParticipants[0];
    this.callerInfo = { identifier: caller?.identifier, displayName: caller?.displayName };
    const onState = () => {
      if (call.state !== "Disconnected") return;
      call.off("stateChanged", onState);
      this.callEndReason = call.callEndReason;
      const callEndReason = call.callEndReason ?? { code: 0, subCode: 0, message: DEFAULT_END_MESSAGE };
      this._emit("callEnded", { callEndReason });
    };
    call.on("stateChanged", onState);
  }

  /**
   * Answer on this device.
   * @param {CallOptions} [options]
   * @returns {Promise<Call>}
   */
  async accept(options = {}) {
    const accepting = this.#call._accept(options);
    this.#onAccept();
    await accepting;
    return this.#call;
  }

  /** Decline (the caller sees 603; `busy` makes it 486). @param {{ busy?: boolean }} [options] */
  async reject(options = {}) {
    await this.#port.request("reject", { callId: this.id, busy: options.busy || undefined });
  }
}

/**
 * @param {TokenCredential | string} credential
 * @param {boolean} refresh
 * @returns {Promise<string | null>} null: a fixed token was refused, there is no other
 */
async function tokenOf(credential, refresh) {
  if (typeof credential === "string") return refresh ? null : credential;
  const token = await credential.getToken();
  return typeof token === "string" ? token : token.token;
}
