// Switchboard chat real-time client for browsers: protocol `switchboard.chat.v1`
// (docs/realtime.md). An ES module with no build step; its only import is the sibling
// ws-session.js (the reconnecting WebSocket, backoff and heartbeat watchdog it shares with the
// calling SDK).
//
//   start() ─▶ token ─▶ WebSocket wss://…/chat/realtime?cursor=… (the token in a subprotocol)
//     ─▶ "hello" (heartbeat) ─▶ replayed events ─▶ "live" (`connected`, start() resolves)
//     ─▶ live events, ping → pong … until the socket ends:
//          4003 (revoked) ......................... stop
//          4001 (token) ........................... new token from tokenProvider, reconnect
//                                                   (no provider: stop)
//          no frame for 2 × heartbeatSeconds ...... drop the socket, reconnect
//          anything else .......................... reconnect
//     reconnects wait an exponential backoff with jitter and resume from the last cursor;
//     an event whose cursor is not above the last one seen is never emitted again.
//
// Keepalive: the server pings every `heartbeatSeconds` and closes (4008) a client it has not
// heard from for two intervals. This client answers each ping, and also sends a pong after
// an incoming frame when it has sent nothing for half an interval (harmless extra proof of
// life, kept from before the server pinged on a fixed schedule).

import { Emitter, ResumePoint, WsSession } from "./ws-session.js";

export const PROTOCOL = "switchboard.chat.v1";

/** Close codes of the protocol (docs/realtime.md, "Close codes"). */
export const CloseCode = Object.freeze({
  UNAUTHORIZED: 4001,
  REVOKED: 4003,
  NO_PONG: 4008,
  TOO_SLOW: 4010,
  /** Reported by this client (never sent by a server) when the connection died silently. */
  ABNORMAL: 1006,
  /** Reported by this client after `stop()`. */
  NORMAL: 1000,
});

/**
 * @typedef {{ rawId: string, kind?: string, communicationUser?: { id: string },
 *   phoneNumber?: { value: string }, microsoftTeamsUser?: { userId: string } }}
 *   CommunicationIdentifier
 * @typedef {{ id: CommunicationIdentifier, displayName?: string | null,
 *   shareHistoryTime?: string }} ChatParticipant
 * @typedef {{ threadId: string, recipient: CommunicationIdentifier }} BaseEvent
 * @typedef {BaseEvent & { sender: CommunicationIdentifier, senderDisplayName: string,
 *   id: string, createdOn: string, version: string, type: string }} MessageEventBase
 * @typedef {MessageEventBase & { message: string, metadata: Record<string, string> }}
 *   ChatMessageReceivedEvent
 * @typedef {ChatMessageReceivedEvent & { editedOn: string }} ChatMessageEditedEvent
 * @typedef {MessageEventBase & { deletedOn: string }} ChatMessageDeletedEvent
 * @typedef {BaseEvent & { sender: CommunicationIdentifier, senderDisplayName: string,
 *   version: string, receivedOn: string }} TypingIndicatorReceivedEvent
 * @typedef {BaseEvent & { sender: CommunicationIdentifier, senderDisplayName: string,
 *   chatMessageId: string, readOn: string }} ReadReceiptReceivedEvent
 * @typedef {BaseEvent & { version: string, createdOn: string, properties: { topic: string },
 *   participants: ChatParticipant[], createdBy: ChatParticipant }} ChatThreadCreatedEvent
 * @typedef {BaseEvent & { version: string, properties: { topic: string }, updatedOn: string,
 *   updatedBy: ChatParticipant }} ChatThreadPropertiesUpdatedEvent
 * @typedef {BaseEvent & { version: string, deletedOn: string, deletedBy: ChatParticipant }}
 *   ChatThreadDeletedEvent
 * @typedef {BaseEvent & { version: string, addedOn: string,
 *   participantsAdded: ChatParticipant[], addedBy: ChatParticipant }} ParticipantsAddedEvent
 * @typedef {BaseEvent & { version: string, removedOn: string,
 *   participantsRemoved: ChatParticipant[], removedBy: ChatParticipant }}
 *   ParticipantsRemovedEvent
 * @typedef {{ userId: string, heartbeatSeconds: number, cursor: string | null }} ConnectedEvent
 * @typedef {{ code: number, reason: string, willReconnect: boolean }} DisconnectedEvent
 * @typedef {{ oldestCursor: string, cursor: string }} ResyncEvent
 * @typedef {{ error: unknown }} ChatRealtimeErrorEvent
 *
 * @typedef {{
 *   chatMessageReceived: ChatMessageReceivedEvent,
 *   chatMessageEdited: ChatMessageEditedEvent,
 *   chatMessageDeleted: ChatMessageDeletedEvent,
 *   typingIndicatorReceived: TypingIndicatorReceivedEvent,
 *   readReceiptReceived: ReadReceiptReceivedEvent,
 *   chatThreadCreated: ChatThreadCreatedEvent,
 *   chatThreadPropertiesUpdated: ChatThreadPropertiesUpdatedEvent,
 *   chatThreadDeleted: ChatThreadDeletedEvent,
 *   participantsAdded: ParticipantsAddedEvent,
 *   participantsRemoved: ParticipantsRemovedEvent,
 *   resync: ResyncEvent,
 *   connected: ConnectedEvent,
 *   disconnected: DisconnectedEvent,
 *   error: ChatRealtimeErrorEvent,
 * }} ChatRealtimeEventMap
 *
 * @typedef {{ name: string, cursor: string | null }} EventMeta
 *   `cursor` is the event's position (null for ephemeral events and client signals).
 * @typedef {{ new (url: string): WebSocket }} WebSocketConstructor
 *
 * @typedef {object} ChatRealtimeOptions
 * @property {string} endpoint  The server's endpoint, e.g. `https://chat.example.com:8443/`.
 * @property {string} [token]  A user access token (used as is; the client stops on 4001).
 * @property {() => (string | Promise<string>)} [tokenProvider]  Returns a token; asked at
 *   start and again whenever the server says the token is no longer valid (4001).
 * @property {string | null} [cursor]  Resume after this cursor (e.g. a persisted `client.cursor`).
 * @property {number} [initialReconnectDelayMs]  First reconnect delay (default 500).
 * @property {number} [maxReconnectDelayMs]  Backoff ceiling (default 30000).
 * @property {number} [connectTimeoutMs]  Wait this long for `hello` (default 10000).
 * @property {WebSocketConstructor} [WebSocket]  The transport (default: the global one).
 */

/**
 * @typedef {{ type: "hello", protocol: string, userId: string, heartbeatSeconds: number }
 *   | { type: "event", name: string, cursor: string | null, data: Record<string, unknown> }
 *   | { type: "resync", oldestCursor: string, cursor: string }
 *   | { type: "live", cursor: string }
 *   | { type: "ping" }} ServerFrame
 */

const DECIMAL = /^\d+$/;

/** @param {string} a @param {string} b @returns {boolean} a < b, as decimal integers */
function below(a, b) {
  return BigInt(a) < BigInt(b);
}

/** @extends {Emitter<ChatRealtimeEventMap, EventMeta>} */
export class ChatRealtimeClient extends Emitter {
  /** @type {string | null} */
  #token;
  #tokenProvider;
  /** @type {ResumePoint<string>} */
  #cursor;
  /** @type {WsSession<ServerFrame>} */
  #session;
  #userId = "";
  /** @type {Promise<void> | null} */
  #started = null;
  /** @type {{ resolve: () => void, reject: (error: Error) => void } | null} */
  #startSettle = null;

  /** @param {ChatRealtimeOptions} options */
  constructor(options) {
    super();
    if (!options || typeof options.endpoint !== "string") {
      throw new TypeError("ChatRealtimeClient: `endpoint` is required");
    }
    if (!options.token && typeof options.tokenProvider !== "function") {
      throw new TypeError("ChatRealtimeClient: give `token` or `tokenProvider`");
    }
    const cursor = options.cursor ?? null;
    if (cursor !== null && !(typeof cursor === "string" && DECIMAL.test(cursor))) {
      throw new TypeError("ChatRealtimeClient: `cursor` must be a decimal string");
    }
    const endpoint = realtimeUrl(options.endpoint);
    this.#token = options.token ?? null;
    this.#tokenProvider = options.tokenProvider ?? null;
    this.#cursor = new ResumePoint(cursor, below);
    this.#session = new WsSession({
      url: () => {
        const url = new URL(endpoint);
        if (this.#cursor.value !== null) url.searchParams.set("cursor", this.#cursor.value);
        return url.toString();
      },
      protocol: PROTOCOL,
      getToken: (refresh) => this.#getToken(refresh),
      tokenErrors: "retry",
      closeAction: (code) => {
        if (code === CloseCode.REVOKED) return "stop";
        if (code === CloseCode.UNAUTHORIZED) return this.#tokenProvider ? "refresh" : "stop";
        return "retry";
      },
      pong: { type: "pong" },
      idlePong: true,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      handshakeTimeoutReason: "The server did not say hello in time.",
      initialReconnectDelayMs: options.initialReconnectDelayMs ?? 500,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 30_000,
      WebSocket: options.WebSocket,
      onOpen: () => {
        this.#userId = "";
      },
      onFrame: (frame, connection) => this.#onFrame(frame, connection),
      onEnd: ({ code, reason, opened, willReconnect }) => {
        if (opened) this.#emit("disconnected", { code, reason, willReconnect }, null);
      },
      onStop: (code, reason) => this.#settleStopped(code, reason),
      onError: (error) => this.#emit("error", { error }, null),
    });
  }

  /** The last cursor seen (persist it to resume later), or null. */
  get cursor() {
    return this.#cursor.value;
  }

  /** The current WebSocket, if any. For tests and debugging only. */
  get _socket() {
    return this.#session.socket;
  }

  /**
   * Connect, and stay connected until stop(). Resolves once the first connection has caught
   * up (`connected`); rejects if the client stops before that (stop(), 4003, or 4001 without
   * a tokenProvider). Network failures are retried, so it may stay pending while offline.
   * @returns {Promise<void>}
   */
  start() {
    if (this.#session.running && this.#started) return this.#started;
    this.#started = new Promise((resolve, reject) => {
      this.#startSettle = { resolve, reject };
    });
    this.#started.catch(() => {}); // a caller that does not await start() sees no unhandled error
    this.#session.start();
    return this.#started;
  }

  /** Close the connection and stop reconnecting. start() may be called again later. */
  stop() {
    if (!this.#session.running) return;
    this.#settleStopped(CloseCode.NORMAL, "Stopped by the client.");
    this.#session.stop();
  }

  /** @param {number} code @param {string} reason */
  #settleStopped(code, reason) {
    const settle = this.#startSettle;
    this.#startSettle = null;
    settle?.reject(Object.assign(new Error(`chat real-time stopped: ${code} ${reason}`), { code }));
  }

  /** @param {boolean} refresh @returns {Promise<string>} */
  async #getToken(refresh) {
    if (this.#tokenProvider && (refresh || this.#token === null)) {
      const token = await this.#tokenProvider();
      if (typeof token !== "string" || token === "") {
        throw new TypeError("tokenProvider must return a non-empty string");
      }
      this.#token = token;
    }
    return /** @type {string} */ (this.#token);
  }

  /**
   * @param {ServerFrame} frame
   * @param {import("./ws-session.js").Connection} connection
   */
  #onFrame(frame, connection) {
    switch (frame.type) {
      case "hello":
        if (frame.protocol !== PROTOCOL) {
          this.#emit("error", { error: new Error(`unknown protocol ${frame.protocol}`) }, null);
        }
        connection.heartbeat(frame.heartbeatSeconds);
        this.#userId = frame.userId;
        break;
      case "event":
        this.#onEvent(frame.name, frame.cursor, frame.data);
        break;
      case "resync":
        if (typeof frame.cursor === "string" && DECIMAL.test(frame.cursor)) {
          this.#cursor.reset(frame.cursor);
        }
        this.#emit("resync", { oldestCursor: frame.oldestCursor, cursor: frame.cursor }, null);
        break;
      case "live":
        if (typeof frame.cursor === "string" && DECIMAL.test(frame.cursor)) {
          this.#cursor.advance(frame.cursor);
        }
        connection.established();
        this.#emit(
          "connected",
          {
            userId: this.#userId,
            heartbeatSeconds: connection.heartbeatSeconds,
            cursor: this.#cursor.value,
          },
          null,
        );
        this.#startSettle?.resolve();
        this.#startSettle = null;
        break;
      default:
        break; // a frame type from a newer protocol revision: ignore it
    }
  }

  /** @param {string} name @param {string | null} cursor @param {Record<string, unknown>} data */
  #onEvent(name, cursor, data) {
    if (cursor !== null && cursor !== undefined) {
      if (typeof cursor !== "string" || !DECIMAL.test(cursor)) return;
      if (!this.#cursor.advance(cursor)) return; // seen already: never emit an event twice
    }
    this.#emit(name, data, cursor ?? null);
  }

  /** @param {string} name @param {unknown} event @param {string | null} cursor */
  #emit(name, event, cursor) {
    const key = /** @type {keyof ChatRealtimeEventMap} */ (name); // the server may add names
    this._emit(key, /** @type {any} */ (event), { name, cursor });
  }
}

/** @param {string} endpoint @returns {string} the WebSocket URL of `/chat/realtime` */
function realtimeUrl(endpoint) {
  const url = new URL(endpoint);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/chat/realtime`;
  url.search = "";
  url.hash = "";
  return url.toString();
}
