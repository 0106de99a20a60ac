// The signaling connection of the browser calling SDK: protocol `switchboard.calling.v1`
// (docs/calling-protocol.md). One WebSocket per CallAgent (one "device"), kept by a WsSession
// (ws-session.js: reconnects, backoff, heartbeat watchdog); this module adds register, acks
// and resume.
//
//   start() ─▶ token ─▶ WebSocket wss://…/calling/signaling (subprotocol; the token in another)
//     ─▶ register {deviceId?, lastSeq?} ─▶ ack {deviceId, iceServers, heartbeatSeconds, …}
//     ─▶ requests not yet acked are (re)sent ─▶ frames, ping → pong … until the socket ends:
//          4003 / 4006 / 4009 / 4011 .............. stop for good (onClosed)
//          4001 (token) ........................... fresh token (if it can), reconnect
//          nothing heard for 2 × heartbeatSeconds . drop the socket, reconnect
//          anything else .......................... reconnect (backoff with jitter)
//     a reconnect resumes the same device with `lastSeq`: the server replays what we missed,
//     and drops resent requests it has already applied (their acks are in the replay).
//     Frames whose `seq` is not above the last one seen are never handled twice.

import { ResumePoint, WsSession } from "./ws-session.js";

export const PROTOCOL = "switchboard.calling.v1";

/** Close codes of the protocol (docs/calling-protocol.md, "Close codes"). */
export const SignalingCloseCode = Object.freeze({
  NORMAL: 1000,
  ABNORMAL: 1006,
  UNAUTHORIZED: 4001,
  REVOKED: 4003,
  FORBIDDEN: 4006,
  NO_PONG: 4008,
  PROTOCOL: 4009,
  REPLACED: 4011,
});

/**
 * The protocol's frames, one typedef each, named `…Request` (client → server) and `…Frame`
 * (server → client). Their field names are checked against the server's own definitions
 * (src/switchboard/calling/signaling/) by tests/unit/test_calling_frames_jsdoc.py;
 * every frame also carries `v` (and server frames a per-device `seq`).
 *
 * @typedef {import("./calling-participant.js").WireParticipant} FrameParticipant
 * @typedef {import("./calling-events.js").CallEndReason} FrameEndReason
 * @typedef {import("./calling-peer.js").Description} FrameDescription
 * @typedef {import("./calling-peer.js").StreamOwner} FrameStreamOwner
 * @typedef {{ candidate: string, sdpMid?: string, sdpMLineIndex?: number }} FrameCandidate
 * @typedef {{ audio: boolean, video: boolean }} FrameMedia
 *
 * @typedef {{ type: "register", id?: string, deviceId?: string, lastSeq?: number }}
 *   RegisterRequest
 * @typedef {{ type: "startCall", id?: string, targets?: object[],
 *   description?: FrameDescription, media?: FrameMedia, displayName?: string,
 *   alternateCallerId?: object }} StartCallRequest
 * @typedef {{ type: "joinGroupCall", id?: string, groupId?: string,
 *   description?: FrameDescription, media?: FrameMedia, displayName?: string,
 *   screenShareMids?: string[] }} JoinGroupCallRequest
 * @typedef {{ type: "joinRoom", id?: string, roomId?: string, description?: FrameDescription,
 *   media?: FrameMedia, displayName?: string, screenShareMids?: string[] }} JoinRoomRequest
 * @typedef {{ type: "accept", id?: string, callId?: string, description?: FrameDescription,
 *   media?: FrameMedia, displayName?: string, screenShareMids?: string[] }} AcceptRequest
 * @typedef {{ type: "reject", id?: string, callId?: string, busy?: boolean }} RejectRequest
 * @typedef {{ type: "hangUp", id?: string, callId?: string }} HangUpRequest
 * @typedef {{ type: "sdp", id?: string, callId?: string, description?: FrameDescription,
 *   to?: string, screenShareMids?: string[] }} SdpRequest
 * @typedef {{ type: "candidate", id?: string, callId?: string, candidate?: FrameCandidate,
 *   to?: string }} CandidateRequest
 * @typedef {{ type: "mediaState", id?: string, callId?: string, muted?: boolean,
 *   videoOn?: boolean, screenShareOn?: boolean }} MediaStateRequest
 * @typedef {{ type: "hold", id?: string, callId?: string }} HoldRequest
 * @typedef {{ type: "resume", id?: string, callId?: string }} ResumeRequest
 * @typedef {{ type: "admit", id?: string, callId?: string, participantIds?: string[] }}
 *   AdmitRequest
 * @typedef {{ type: "rejectLobby", id?: string, callId?: string, participantIds?: string[] }}
 *   RejectLobbyRequest
 * @typedef {{ type: "dataChannel", id?: string, callId?: string, data?: string,
 *   participantIds?: string[], channelId?: number, sequenceNumber?: number }} DataChannelRequest
 * @typedef {{ type: "dataChannelSender", id?: string, callId?: string, channelId?: number,
 *   reliability?: "lossy" | "durable", priority?: "normal" | "high", bitrateInKbps?: number,
 *   participantIds?: string[], closed?: boolean }} DataChannelSenderRequest
 * @typedef {{ type: "setVideoStreams", id?: string, callId?: string, maxVideo?: number }}
 *   SetVideoStreamsRequest
 * @typedef {{ type: "pong", id?: string }} PongRequest
 * @typedef {{ type: "unregister", id?: string, keepCalls?: string[] }} UnregisterRequest
 *   `keepCalls`: 1:1 calls a reloading page resumes (a new page registers this device again)
 * @typedef {{ type: "pushReceived", id?: string, callId?: string, owner?: string }}
 *   PushReceivedRequest  a device woken by a push asks to ring (docs/push.md)
 *
 * @typedef {{ type: "ack", id: string | null, ok: boolean,
 *   error?: { code: string, message: string }, deviceId?: string, userId?: string,
 *   resumed?: boolean, calls?: string[], heartbeatSeconds?: number,
 *   iceServers?: RTCIceServer[], callId?: string, participantId?: string, state?: string }}
 *   AckFrame
 * @typedef {{ type: "incomingCall", callId: string, caller: FrameParticipant,
 *   participantId: string, media: FrameMedia, offer: FrameDescription | null,
 *   ringTimeoutSeconds: number, conference?: boolean }} IncomingCallFrame
 * @typedef {{ type: "callUpdated", callId: string, state: string, participantId: string,
 *   participants: FrameParticipant[], role?: string }} CallUpdatedFrame
 * @typedef {{ type: "participantUpdated", callId: string, participant: FrameParticipant }}
 *   ParticipantUpdatedFrame
 * @typedef {{ type: "participantsUpdated", callId: string, added: FrameParticipant[],
 *   removed: FrameParticipant[] }} ParticipantsUpdatedFrame
 * @typedef {{ type: "sdp", callId: string, from: string, description: FrameDescription,
 *   streams?: FrameStreamOwner[], screenShareMids?: string[] }} SdpFrame
 * @typedef {{ type: "candidate", callId: string, from: string, candidate: FrameCandidate }}
 *   CandidateFrame
 * @typedef {{ type: "callEnded", callId: string, reason: FrameEndReason }} CallEndedFrame
 * @typedef {{ type: "dominantSpeakersChanged", callId: string, speakers: string[] }}
 *   DominantSpeakersChangedFrame
 * @typedef {{ type: "lobbyParticipantsUpdated", callId: string, lobby: FrameParticipant[] }}
 *   LobbyParticipantsUpdatedFrame
 * @typedef {{ type: "dataChannelMessage", callId: string, from: string, data: string,
 *   channelId?: number, sequenceNumber?: number }}
 *   DataChannelMessageFrame
 * @typedef {{ type: "callConverted", callId: string, serverCallId: string }}
 *   CallConvertedFrame
 * @typedef {{ type: "callMoved", callId: string, toCallId: string }} CallMovedFrame  A server
 *   call's app moved the device to the server call `toCallId` (it accepts it with an offer).
 * @typedef {{ type: "ping" }} PingFrame
 */

const FATAL = new Set([4003, 4006, 4009, 4011]);

/**
 * @typedef {{ deviceId: string, userId: string, resumed: boolean, calls: string[],
 *   heartbeatSeconds: number, iceServers: RTCIceServer[] }} Registration
 * @typedef {{ type: string, v?: number, seq?: number, id?: string | null, ok?: boolean,
 *   callId?: string, error?: { code: string, message: string }, [field: string]: any }}
 *   ServerFrame
 * @typedef {(ack: ServerFrame) => void} AckHook  Runs as the ack arrives, before later frames.
 * @typedef {{ frame: Record<string, unknown>, resolve: (ack: ServerFrame) => void,
 *   reject: (error: Error) => void, onAck: AckHook | undefined }} Pending
 * @typedef {import("./ws-session.js").WebSocketConstructor} WebSocketConstructor
 * @typedef {import("./ws-session.js").Connection} Connection
 *
 * @typedef {object} SignalingOptions
 * @property {string} endpoint  The server, e.g. `https://switchboard.example.com:8443`.
 * @property {(refresh: boolean) => Promise<string | null>} getToken  A token; with `refresh`,
 *   a fresh one (null: none can be had, so a 4001 stops the connection).
 * @property {(frame: ServerFrame) => void} onFrame  Every server frame but acks and pings.
 * @property {(registration: Registration) => void} onRegistered  After each register ack.
 * @property {(connected: boolean) => void} onConnection  Registered, or the socket ended.
 * @property {(code: number, reason: string) => void} onClosed  Stopped for good (not by stop()).
 * @property {number} [initialReconnectDelayMs]  First reconnect delay (default 500).
 * @property {number} [maxReconnectDelayMs]  Backoff ceiling (default 10000).
 * @property {WebSocketConstructor} [WebSocket]  The transport (default: the global one).
 * @property {{ deviceId: string, lastSeq: number | null }} [resume]  Register as this device
 *   (a reloaded page resuming the device its previous page kept for a call).
 */

/** A request the server refused (`ack.ok === false`), or one that can no longer be sent. */
export class SignalingError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "SignalingError";
    this.code = code;
  }
}

export class Signaling {
  #options;
  /** @type {WsSession<ServerFrame>} */
  #session;
  /** @type {string | null} */
  #deviceId = null;
  /** @type {ResumePoint<number>} */
  #lastSeq = new ResumePoint(/** @type {number | null} */ (null), (a, b) => a < b);
  #registered = false;
  /** The id of the current connection's register request. */
  #registerId = "";
  #prefix = Math.random().toString(36).slice(2, 8);
  #nextId = 0;
  /** @type {Map<string, Pending>} */
  #pending = new Map();
  /** @type {{ resolve: (r: Registration) => void, reject: (e: Error) => void } | null} */
  #firstRegistration = null;

  /** @param {SignalingOptions} options */
  constructor(options) {
    this.#options = options;
    if (options.resume) {
      this.#deviceId = options.resume.deviceId;
      this.#lastSeq.reset(options.resume.lastSeq);
    }
    const url = signalingUrl(options.endpoint);
    this.#session = new WsSession({
      url: () => url,
      protocol: PROTOCOL,
      getToken: options.getToken,
      // A token the app cannot give before the first registration fails start() (as ACS's
      // createCallAgent does); later, the app still wants the agent: retry with the backoff,
      // as long as it takes (a token server down during an outage must not end calling).
      tokenErrors: () => (this.#firstRegistration ? "stop" : "retry"),
      closeAction: (code) => {
        if (FATAL.has(code)) return "stop";
        return code === SignalingCloseCode.UNAUTHORIZED ? "refresh" : "retry";
      },
      pong: { v: 1, type: "pong" },
      connectTimeoutMs: 10_000, // until the register ack; then two heartbeats of silence
      initialReconnectDelayMs: options.initialReconnectDelayMs ?? 500,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 10_000,
      WebSocket: options.WebSocket,
      onOpen: (connection) => this.#register(connection),
      onFrame: (frame, connection) => this.#onFrame(frame, connection),
      onEnd: (end) => {
        this.#registered = false;
        if (end.established && !end.stopped) options.onConnection(false);
      },
      onStop: (code, reason) => this.#stopped(code, reason, true),
    });
  }

  get deviceId() {
    return this.#deviceId;
  }

  /** The seq of the last server frame handled (null: none yet). */
  get lastSeq() {
    return this.#lastSeq.value;
  }

  /** The current WebSocket, if any. For tests and debugging only. */
  get _socket() {
    return this.#session.socket;
  }

  /**
   * Connect and register; resolves with the first registration. Rejects if the connection
   * stops for good first (a fatal close code, or stop()); network failures are retried.
   * @returns {Promise<Registration>}
   */
  start() {
    if (this.#session.running) throw new Error("signaling already started");
    const registered = new Promise((resolve, reject) => {
      this.#firstRegistration = { resolve, reject };
    });
    this.#session.start();
    return /** @type {Promise<Registration>} */ (registered);
  }

  /**
   * Send a request; resolves with its ack, rejects with SignalingError on a refusal. Sent
   * now if registered, else after the next registration; resent after a reconnect until acked.
   * @param {string} type
   * @param {Record<string, unknown>} fields
   * @param {AckHook} [onAck]
   * @returns {Promise<ServerFrame>}
   */
  request(type, fields, onAck) {
    if (!this.#session.running) {
      return Promise.reject(new SignalingError("Closed", "Signaling stopped."));
    }
    const id = `${this.#prefix}-${++this.#nextId}`;
    const frame = { v: 1, type, id, ...fields };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { frame, resolve, reject, onAck });
      if (this.#registered) this.#session.send(frame);
    });
  }

  /**
   * Unregister the device (its calls end on the server) and close.
   * @param {string[]} [keepCalls]  1:1 calls a reloading page will resume: the server keeps
   *   them (and the device) a few seconds for the new page.
   */
  stop(keepCalls = []) {
    if (!this.#session.running) return;
    const keep = keepCalls.length ? { keepCalls } : {};
    if (this.#registered) this.#session.send({ v: 1, type: "unregister", ...keep });
    this.#session.stop();
    this.#stopped(SignalingCloseCode.NORMAL, "Stopped by the client.", false);
  }

  /** @param {number} code @param {string} reason @param {boolean} notify */
  #stopped(code, reason, notify) {
    this.#registered = false;
    const error = new SignalingError("Closed", `Signaling stopped: ${code} ${reason}`);
    this.#firstRegistration?.reject(Object.assign(error, { closeCode: code }));
    this.#firstRegistration = null;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    if (notify) this.#options.onClosed(code, reason);
  }

  /** @param {Connection} connection */
  #register(connection) {
    this.#registerId = `${this.#prefix}-register-${++this.#nextId}`;
    /** @type {Record<string, unknown>} */
    const register = { v: 1, type: "register", id: this.#registerId };
    if (this.#deviceId !== null) {
      register.deviceId = this.#deviceId;
      if (this.#lastSeq.value !== null) register.lastSeq = this.#lastSeq.value;
    }
    connection.send(register);
  }

  /** @param {ServerFrame} frame @param {Connection} connection */
  #onFrame(frame, connection) {
    if (frame.type === "ack" && frame.id === this.#registerId) {
      if (!frame.ok) return connection.close(SignalingCloseCode.PROTOCOL, "register refused");
      connection.established();
      const registration = /** @type {Registration} */ (/** @type {unknown} */ (frame));
      connection.heartbeat(registration.heartbeatSeconds);
      this.#onRegistered(registration);
      return;
    }
    if (typeof frame.seq === "number" && !this.#lastSeq.advance(frame.seq)) return; // a replay
    if (frame.type === "ack") this.#onAck(frame);
    else this.#options.onFrame(frame);
  }

  /** @param {Registration} registration */
  #onRegistered(registration) {
    const lost = this.#deviceId !== null && !registration.resumed;
    if (lost || this.#deviceId === null) this.#lastSeq.reset(); // a new device counts from 1
    if (lost) {
      // The server forgot the old device (grace expired, or another node): requests made for
      // it would act on calls it no longer has.
      const error = new SignalingError("DeviceLost", "The server no longer knows this device.");
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    }
    this.#deviceId = registration.deviceId;
    this.#registered = true;
    for (const pending of this.#pending.values()) this.#session.send(pending.frame);
    this.#options.onConnection(true);
    this.#options.onRegistered(registration);
    this.#firstRegistration?.resolve(registration);
    this.#firstRegistration = null;
  }

  /** @param {ServerFrame} frame */
  #onAck(frame) {
    const pending = this.#pending.get(String(frame.id));
    if (!pending) return;
    this.#pending.delete(String(frame.id));
    if (frame.ok) {
      pending.onAck?.(frame);
      pending.resolve(frame);
    } else {
      const error = frame.error ?? { code: "Unknown", message: "The request failed." };
      pending.reject(new SignalingError(error.code, error.message));
    }
  }
}

/** @param {string} endpoint @returns {string} the WebSocket URL of `/calling/signaling` */
export function signalingUrl(endpoint) {
  const url = new URL(endpoint);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/calling/signaling`;
  url.search = "";
  url.hash = "";
  return url.toString();
}
