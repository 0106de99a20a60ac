// Switchboard chat real-time client for browsers: protocol `switchboard.chat.v1`
// (docs/realtime.md). An ES module with no build step and no dependencies.
//
//   start() ─▶ token ─▶ WebSocket wss://…/chat/realtime?access_token=…&cursor=…
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
 * @typedef {{ code: number, reason: string, live: boolean, opened: boolean }} SocketEnd
 */

const DECIMAL = /^\d+$/;

/** @param {string | null} a @param {string} b @returns {boolean} a < b, as decimal integers */
function before(a, b) {
  return a === null || BigInt(a) < BigInt(b);
}

/** @param {unknown} error */
function report(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else console.error(error);
}

export class ChatRealtimeClient {
  /** @type {Map<string, Set<(event: any, meta: EventMeta) => void>>} */
  #handlers = new Map();
  #endpoint;
  /** @type {string | null} */
  #token;
  #tokenProvider;
  /** @type {string | null} */
  #cursor;
  #initialDelay;
  #maxDelay;
  #connectTimeout;
  #WebSocket;
  #running = false;
  /** Bumped by start() and stop(): a run loop whose generation is stale ends. */
  #generation = 0;
  /** @type {WebSocket | null} */
  #socket = null;
  /** @type {((end: SocketEnd) => void) | null} */
  #endSocket = null;
  /** @type {(() => void) | null} */
  #wake = null;
  /** @type {Promise<void> | null} */
  #started = null;
  /** @type {{ resolve: () => void, reject: (error: Error) => void } | null} */
  #startSettle = null;

  /** @param {ChatRealtimeOptions} options */
  constructor(options) {
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
    this.#endpoint = realtimeUrl(options.endpoint);
    this.#token = options.token ?? null;
    this.#tokenProvider = options.tokenProvider ?? null;
    this.#cursor = cursor;
    this.#initialDelay = options.initialReconnectDelayMs ?? 500;
    this.#maxDelay = options.maxReconnectDelayMs ?? 30_000;
    this.#connectTimeout = options.connectTimeoutMs ?? 10_000;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
  }

  /** The last cursor seen (persist it to resume later), or null. */
  get cursor() {
    return this.#cursor;
  }

  /** The current WebSocket, if any. For tests and debugging only. */
  get _socket() {
    return this.#socket;
  }

  /**
   * @template {keyof ChatRealtimeEventMap} K
   * @param {K} name
   * @param {(event: ChatRealtimeEventMap[K], meta: EventMeta) => void} handler
   */
  on(name, handler) {
    let handlers = this.#handlers.get(name);
    if (!handlers) this.#handlers.set(name, (handlers = new Set()));
    handlers.add(handler);
  }

  /**
   * @template {keyof ChatRealtimeEventMap} K
   * @param {K} name
   * @param {(event: ChatRealtimeEventMap[K], meta: EventMeta) => void} handler
   */
  off(name, handler) {
    this.#handlers.get(name)?.delete(handler);
  }

  /**
   * Connect, and stay connected until stop(). Resolves once the first connection has caught
   * up (`connected`); rejects if the client stops before that (stop(), 4003, or 4001 without
   * a tokenProvider). Network failures are retried, so it may stay pending while offline.
   * @returns {Promise<void>}
   */
  start() {
    if (this.#running && this.#started) return this.#started;
    this.#running = true;
    const generation = ++this.#generation;
    this.#started = new Promise((resolve, reject) => {
      this.#startSettle = { resolve, reject };
    });
    this.#started.catch(() => {}); // a caller that does not await start() sees no unhandled error
    this.#run(generation).catch(report);
    return this.#started;
  }

  /** Close the connection and stop reconnecting. start() may be called again later. */
  stop() {
    if (!this.#running) return;
    const reason = "Stopped by the client.";
    this.#stopWith(CloseCode.NORMAL, reason);
    this.#endSocket?.({ code: CloseCode.NORMAL, reason, live: false, opened: false });
  }

  /** @param {number} code @param {string} reason */
  #stopWith(code, reason) {
    this.#running = false;
    this.#generation++;
    this.#wake?.();
    const settle = this.#startSettle;
    this.#startSettle = null;
    settle?.reject(Object.assign(new Error(`chat real-time stopped: ${code} ${reason}`), { code }));
  }

  /** @param {number} generation */
  async #run(generation) {
    let attempt = 0;
    let refreshToken = false;
    const current = () => this.#running && this.#generation === generation;
    while (current()) {
      /** @type {string} */
      let token;
      try {
        token = await this.#getToken(refreshToken);
      } catch (error) {
        if (!current()) return;
        this.#emit("error", { error }, null);
        await this.#sleep(this.#backoff(attempt++));
        continue;
      }
      if (!current()) return;
      const end = await this.#connect(token);
      if (end.live) attempt = 0;
      const stopping = !current();
      const fatal =
        end.code === CloseCode.REVOKED ||
        (end.code === CloseCode.UNAUTHORIZED && this.#tokenProvider === null);
      refreshToken = end.code === CloseCode.UNAUTHORIZED;
      if (end.opened) {
        const willReconnect = !stopping && !fatal;
        this.#emit("disconnected", { code: end.code, reason: end.reason, willReconnect }, null);
      }
      if (stopping) return;
      if (fatal) {
        this.#stopWith(end.code, end.reason);
        return;
      }
      await this.#sleep(this.#backoff(attempt++));
    }
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

  /** @param {number} attempt @returns {number} exponential, with "equal jitter" */
  #backoff(attempt) {
    const ceiling = Math.min(this.#maxDelay, this.#initialDelay * 2 ** Math.min(attempt, 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** @param {number} ms @returns {Promise<void>} ends early on stop() */
  #sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.#wake === done) self.#wake = null;
        resolve();
      }
      this.#wake = done;
    });
  }

  /**
   * One WebSocket, from creation to its end (closed by either side, or found dead).
   * @param {string} token
   * @returns {Promise<SocketEnd>}
   */
  #connect(token) {
    const url = new URL(this.#endpoint);
    url.searchParams.set("access_token", token);
    if (this.#cursor !== null) url.searchParams.set("cursor", this.#cursor);
    return new Promise((resolve) => {
      /** @type {WebSocket} */
      let ws;
      try {
        ws = new this.#WebSocket(url.toString());
      } catch (error) {
        this.#emit("error", { error }, null);
        resolve({ code: CloseCode.ABNORMAL, reason: String(error), live: false, opened: false });
        return;
      }
      this.#socket = ws;
      let opened = false;
      let live = false;
      let userId = "";
      let deadline = Date.now() + this.#connectTimeout;
      let heartbeatMs = 0;
      let lastSent = Date.now();
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let watchdog;

      /** @param {SocketEnd} end */
      const finish = (end) => {
        if (this.#endSocket !== finish) return;
        this.#endSocket = null;
        this.#socket = null;
        clearTimeout(watchdog);
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        if (ws.readyState <= 1) {
          // CONNECTING or OPEN: we gave up on it (stop(), or found dead)
          try {
            ws.close(1000);
          } catch {
            // already closing
          }
        }
        resolve({ ...end, live, opened: opened || end.opened });
      };
      this.#endSocket = finish;

      const watch = () => {
        const left = deadline - Date.now();
        if (left > 0) {
          watchdog = setTimeout(watch, left); // timers may fire late or early: re-check
          return;
        }
        const why = heartbeatMs
          ? "The server sent nothing for two heartbeat intervals."
          : "The server did not say hello in time.";
        finish({ code: CloseCode.ABNORMAL, reason: why, live, opened });
      };
      watchdog = setTimeout(watch, this.#connectTimeout);

      /** @param {object} frame */
      const send = (frame) => {
        lastSent = Date.now();
        ws.send(JSON.stringify(frame));
      };

      ws.onopen = () => {
        opened = true;
      };
      ws.onclose = (event) => {
        finish({ code: event.code, reason: event.reason, live, opened });
      };
      ws.onmessage = (message) => {
        /** @type {ServerFrame} */
        let frame;
        try {
          frame = JSON.parse(String(message.data));
        } catch (error) {
          this.#emit("error", { error }, null);
          return;
        }
        if (typeof frame !== "object" || frame === null) return;
        if (heartbeatMs) deadline = Date.now() + 2 * heartbeatMs;
        if (frame.type === "ping") {
          send({ type: "pong" });
          return;
        }
        if (heartbeatMs && Date.now() - lastSent >= heartbeatMs / 2) send({ type: "pong" });
        switch (frame.type) {
          case "hello":
            if (frame.protocol !== PROTOCOL) {
              this.#emit("error", { error: new Error(`unknown protocol ${frame.protocol}`) }, null);
            }
            heartbeatMs = 1000 * (Number(frame.heartbeatSeconds) > 0 ? frame.heartbeatSeconds : 15);
            deadline = Date.now() + 2 * heartbeatMs;
            clearTimeout(watchdog); // the deadline may now be nearer than the hello timeout
            watchdog = setTimeout(watch, 2 * heartbeatMs);
            userId = frame.userId;
            break;
          case "event":
            this.#onEvent(frame.name, frame.cursor, frame.data);
            break;
          case "resync":
            if (typeof frame.cursor === "string" && DECIMAL.test(frame.cursor)) {
              this.#cursor = frame.cursor;
            }
            this.#emit("resync", { oldestCursor: frame.oldestCursor, cursor: frame.cursor }, null);
            break;
          case "live":
            if (typeof frame.cursor === "string" && DECIMAL.test(frame.cursor)) {
              if (before(this.#cursor, frame.cursor)) this.#cursor = frame.cursor;
            }
            live = true;
            const heartbeatSeconds = heartbeatMs / 1000;
            this.#emit("connected", { userId, heartbeatSeconds, cursor: this.#cursor }, null);
            this.#startSettle?.resolve();
            this.#startSettle = null;
            break;
          default:
            break; // a frame type from a newer protocol revision: ignore it
        }
      };
    });
  }

  /** @param {string} name @param {string | null} cursor @param {Record<string, unknown>} data */
  #onEvent(name, cursor, data) {
    if (cursor !== null && cursor !== undefined) {
      if (typeof cursor !== "string" || !DECIMAL.test(cursor)) return;
      if (!before(this.#cursor, cursor)) return; // seen already: never emit an event twice
      this.#cursor = cursor;
    }
    this.#emit(name, data, cursor ?? null);
  }

  /** @param {string} name @param {unknown} event @param {string | null} cursor */
  #emit(name, event, cursor) {
    const handlers = this.#handlers.get(name);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      try {
        handler(event, { name, cursor });
      } catch (error) {
        report(error); // one faulty handler must not break delivery to the others
      }
    }
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
