// The reconnecting WebSocket session under the browser SDKs: chat.js (`switchboard.chat.v1`)
// and calling-signaling.js (`switchboard.calling.v1`) each drive one and add their protocol on
// top (handshake, resume position, requests). Also the typed event emitter both SDKs use.
//
//   start() ─▶ getToken(refresh) ─▶ new WebSocket(url(), [protocol, "access_token." + token])
//     ─▶ onOpen(connection)   (the token rides in a subprotocol, never in the URL, which
//     lands in consoles and access logs; the server answers with `protocol`)
//     ─▶ frames: ping → pong; every other one → onFrame(frame, connection) … until it ends:
//          closeAction(code) "stop" ............... stop for good (onEnd, then onStop)
//          closeAction(code) "refresh" ............ fresh token (null: stop, 4001), reconnect
//          closeAction(code) "retry" .............. reconnect
//          no frame before the deadline ........... drop the socket (1006), reconnect
//     the deadline: connectTimeoutMs until the protocol reads its heartbeat from the handshake
//     (connection.heartbeat(seconds)), then two heartbeat intervals after each frame;
//     reconnects wait an exponential backoff with "equal jitter" (delay n is uniform in
//     [c/2, c], c = min(max, initial × 2ⁿ)); n resets once a connection was established
//     (connection.established(): the protocol's handshake completed).
//   stop() ─▶ the socket is closed (1000), no reconnect; start() may run it again.
//   the browser's `offline` event ─▶ drop the socket now (1006; a dead link may take two
//     heartbeats to notice); `online` ─▶ end the backoff wait and reconnect at once.

/** The subprotocol that carries the access token (a JWT's characters are all legal there). */
export const TOKEN_SUBPROTOCOL_PREFIX = "access_token.";

/** @param {unknown} error  Reported to the page (`reportError`), never thrown at the caller. */
export function report(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else console.error(error);
}

/**
 * `on`/`off` with event names and payloads checked against the map `M`. Handlers get the
 * event, and for emitters that have one (chat's `{ name, cursor }`) a second argument `Meta`.
 * @template {Record<string, unknown>} M
 * @template [Meta=undefined]
 */
export class Emitter {
  /** @type {Map<keyof M, Set<(event: any, meta: any) => void>>} */
  #handlers = new Map();

  /**
   * @template {keyof M} K
   * @param {K} name
   * @param {(event: M[K], meta: Meta) => void} handler
   */
  on(name, handler) {
    let handlers = this.#handlers.get(name);
    if (!handlers) this.#handlers.set(name, (handlers = new Set()));
    handlers.add(handler);
  }

  /**
   * @template {keyof M} K
   * @param {K} name
   * @param {(event: M[K], meta: Meta) => void} handler
   */
  off(name, handler) {
    this.#handlers.get(name)?.delete(handler);
  }

  /**
   * For the SDK's own classes: call every handler; one that throws is reported and does not
   * stop delivery to the others.
   * @protected
   * @template {keyof M} K
   * @param {K} name
   * @param {M[K]} event
   * @param {Meta} [meta]
   */
  _emit(name, event, meta) {
    for (const handler of [...(this.#handlers.get(name) ?? [])]) {
      try {
        handler(event, meta);
      } catch (error) {
        report(error);
      }
    }
  }
}

/**
 * The last position seen in a replayable stream (chat's cursor, signaling's seq): a reconnect
 * resumes after it, and a position not above it is a replay, never handled twice.
 * @template P
 */
export class ResumePoint {
  #below;
  /** @type {P | null} */
  value;

  /**
   * @param {P | null} initial
   * @param {(a: P, b: P) => boolean} below  a < b
   */
  constructor(initial, below) {
    this.value = initial;
    this.#below = below;
  }

  /** @param {P} position @returns {boolean} it is new (and now the resume point) */
  advance(position) {
    if (this.value !== null && !this.#below(this.value, position)) return false;
    this.value = position;
    return true;
  }

  /** @param {P | null} [position] Start over from here (null: from the beginning). */
  reset(position = null) {
    this.value = position;
  }
}

/** Close codes the session itself reports (never sent by a server). */
export const SessionCloseCode = Object.freeze({
  /** After stop(). */
  NORMAL: 1000,
  /** The connection died silently, or could not be made. */
  ABNORMAL: 1006,
  /** The token was refused and no fresh one can be had. */
  UNAUTHORIZED: 4001,
});

/**
 * @typedef {"stop" | "refresh" | "retry"} CloseAction
 *   What a close code means: stop for good, reconnect with a fresh token, or just reconnect.
 * @typedef {{ new (url: string, protocols?: string | string[]): WebSocket }} WebSocketConstructor
 *
 * @typedef {object} SessionEnd  One socket's end.
 * @property {number} code  The close code (1006 when found dead, 1000 after stop()).
 * @property {string} reason
 * @property {boolean} opened  The socket had opened.
 * @property {boolean} established  The protocol's handshake had completed on it.
 * @property {boolean} willReconnect
 * @property {boolean} stopped  It ended because of stop().
 */

/** @typedef {"retry" | "stop"} TokenErrorAction */

/**
 * @template F  The protocol's server frames.
 * @typedef {object} WsSessionOptions
 * @property {() => string} url  The WebSocket URL of each connect (with resume state in it,
 *   if the protocol carries it there; never the token).
 * @property {string} protocol  The WebSocket subprotocol the server answers with.
 * @property {(refresh: boolean) => (string | null | Promise<string | null>)} getToken  A token
 *   for each connect; with `refresh`, a fresh one (null: none can be had, stop with 4001).
 * @property {TokenErrorAction | (() => TokenErrorAction)} [tokenErrors]  When getToken throws:
 *   report it (onError) and retry after a backoff, or stop with 1006 (default "stop"); a
 *   function is asked at each failure.
 * @property {(code: number) => CloseAction} closeAction
 * @property {Record<string, unknown>} pong  The answer to a `ping` frame.
 * @property {boolean} [idlePong]  Also send a pong after an incoming frame when nothing was
 *   sent for half a heartbeat interval.
 * @property {number} [connectTimeoutMs]  Until the handshake gives the heartbeat (10000).
 * @property {string} [handshakeTimeoutReason]  The close reason when that time runs out.
 * @property {number} initialReconnectDelayMs
 * @property {number} maxReconnectDelayMs
 * @property {WebSocketConstructor} [WebSocket]  The transport (default: the global one).
 * @property {(connection: Connection) => void} [onOpen]  The socket opened.
 * @property {(frame: F, connection: Connection) => void} onFrame  Every object frame but pings.
 * @property {(end: SessionEnd) => void} [onEnd]  After each socket's end.
 * @property {(code: number, reason: string) => void} [onStop]  Stopped for good (not by stop()).
 * @property {(error: unknown) => void} [onError]  A token failure being retried, a socket that
 *   could not be made, or a frame that is not JSON.
 */

/** One WebSocket of a session, as the protocol on top sees it. */
export class Connection {
  #ws;
  #finish;
  #timeoutReason;
  #heartbeatMs = 0;
  #deadline;
  #lastSent = Date.now();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #watchdog;
  opened = false;
  isEstablished = false;

  /**
   * @internal Made by WsSession.
   * @param {WebSocket} ws
   * @param {(code: number, reason: string) => void} finish
   * @param {number} timeoutMs
   * @param {string} timeoutReason
   */
  constructor(ws, finish, timeoutMs, timeoutReason) {
    this.#ws = ws;
    this.#finish = finish;
    this.#timeoutReason = timeoutReason;
    this.#deadline = Date.now() + timeoutMs;
    this.#watchdog = setTimeout(this.#watch, timeoutMs);
  }

  get socket() {
    return this.#ws;
  }

  /** The heartbeat interval the handshake gave, in seconds (0 before). */
  get heartbeatSeconds() {
    return this.#heartbeatMs / 1000;
  }

  /** @param {Record<string, unknown>} frame */
  send(frame) {
    this.#lastSent = Date.now();
    this.#ws.send(JSON.stringify(frame));
  }

  /**
   * The handshake's heartbeat interval: from now on two intervals without a frame mean a dead
   * connection. @param {unknown} seconds  Not a positive number: 15.
   */
  heartbeat(seconds) {
    this.#heartbeatMs = 1000 * (Number(seconds) > 0 ? Number(seconds) : 15);
    this.#deadline = Date.now() + 2 * this.#heartbeatMs;
    clearTimeout(this.#watchdog); // the deadline may now be nearer than the handshake timeout
    this.#watchdog = setTimeout(this.#watch, 2 * this.#heartbeatMs);
  }

  /** The protocol's handshake completed: the session's backoff starts over after this one. */
  established() {
    this.isEstablished = true;
  }

  /** End this connection (the session reconnects, or stops, as `code` says). */
  close(/** @type {number} */ code, /** @type {string} */ reason) {
    this.#finish(code, reason);
  }

  /** @internal A frame came: the link is alive. */
  _heard() {
    if (this.#heartbeatMs) this.#deadline = Date.now() + 2 * this.#heartbeatMs;
  }

  /** @internal @returns {boolean} nothing was sent for half a heartbeat interval */
  _idle() {
    return this.#heartbeatMs > 0 && Date.now() - this.#lastSent >= this.#heartbeatMs / 2;
  }

  /** @internal */
  _dispose() {
    clearTimeout(this.#watchdog);
  }

  #watch = () => {
    const left = this.#deadline - Date.now();
    if (left > 0) {
      this.#watchdog = setTimeout(this.#watch, left); // timers may fire late or early: re-check
      return;
    }
    const why = this.#heartbeatMs
      ? "The server sent nothing for two heartbeat intervals."
      : this.#timeoutReason;
    this.#finish(SessionCloseCode.ABNORMAL, why);
  };
}

/**
 * A WebSocket that reconnects until stopped; see the diagram at the top of this module.
 * @template F
 */
export class WsSession {
  #options;
  #WebSocket;
  #running = false;
  /** Bumped by start() and stop(): a run loop whose generation is stale ends. */
  #generation = 0;
  /** @type {Connection | null} */
  #connection = null;
  /** @type {(() => void) | null} */
  #wake = null;
  /** The browser came back online: the next reconnect waits no backoff. */
  #backOnline = false;
  #onOnline = () => {
    this.#backOnline = true;
    this.#wake?.();
  };
  #onOffline = () => {
    this.#connection?.close(SessionCloseCode.ABNORMAL, "The browser went offline.");
  };

  /** @param {WsSessionOptions<F>} options */
  constructor(options) {
    this.#options = options;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
  }

  get running() {
    return this.#running;
  }

  /** The current WebSocket, if any. */
  get socket() {
    return this.#connection?.socket ?? null;
  }

  /** Connect, and reconnect after every end until stop() or a close that means stop. */
  start() {
    if (this.#running) return;
    this.#running = true;
    globalThis.addEventListener?.("online", this.#onOnline);
    globalThis.addEventListener?.("offline", this.#onOffline);
    const generation = ++this.#generation;
    this.#run(generation).catch((error) => {
      // getToken failed (tokenErrors "stop"), or a hook threw: stop rather than hang
      if (this.#generation === generation) this.#halt(SessionCloseCode.ABNORMAL, String(error));
    });
  }

  /** Close the socket (1000) and stop reconnecting; onStop is not called. */
  stop() {
    if (!this.#running) return;
    this.#running = false;
    globalThis.removeEventListener?.("online", this.#onOnline);
    globalThis.removeEventListener?.("offline", this.#onOffline);
    this.#generation++;
    this.#wake?.();
    this.#connection?.close(SessionCloseCode.NORMAL, "Stopped by the client.");
  }

  /**
   * Send on the open socket, if there is one. @param {Record<string, unknown>} frame
   * @returns {boolean} sent (false: not connected; a protocol resends what needs it)
   */
  send(frame) {
    const connection = this.#connection;
    if (!connection || connection.socket.readyState !== 1) return false;
    connection.send(frame);
    return true;
  }

  /** @param {number} code @param {string} reason */
  #halt(code, reason) {
    this.stop();
    this.#options.onStop?.(code, reason);
  }

  /** @param {number} generation */
  async #run(generation) {
    const options = this.#options;
    let attempt = 0;
    let refresh = false;
    const current = () => this.#running && this.#generation === generation;
    while (current()) {
      /** @type {string | null} */
      let token;
      try {
        token = await options.getToken(refresh);
      } catch (error) {
        if (!current()) return;
        const onTokenError =
          typeof options.tokenErrors === "function" ? options.tokenErrors() : options.tokenErrors;
        if (onTokenError !== "retry") throw error;
        options.onError?.(error);
        await this.#sleep(this.#backoff(attempt++));
        if (this.#backOnline) attempt = 0;
        this.#backOnline = false;
        continue;
      }
      if (!current()) return;
      if (token === null) {
        this.#halt(SessionCloseCode.UNAUTHORIZED, "The token was refused; no fresh one.");
        return;
      }
      const end = await this.#connect(token);
      if (end.established) attempt = 0;
      const stopped = !current();
      const action = stopped ? "stop" : options.closeAction(end.code);
      options.onEnd?.({ ...end, willReconnect: action !== "stop", stopped });
      if (stopped) return;
      if (action === "stop") {
        this.#halt(end.code, end.reason);
        return;
      }
      refresh = action === "refresh";
      if (!this.#backOnline) await this.#sleep(this.#backoff(attempt++));
      if (this.#backOnline) attempt = 0;
      this.#backOnline = false;
    }
  }

  /** @param {number} attempt @returns {number} exponential, with "equal jitter" */
  #backoff(attempt) {
    const { initialReconnectDelayMs: initial, maxReconnectDelayMs: max } = this.#options;
    const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
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
   * @returns {Promise<{ code: number, reason: string, opened: boolean, established: boolean }>}
   */
  #connect(token) {
    const options = this.#options;
    const url = options.url();
    return new Promise((resolve) => {
      /** @type {WebSocket} */
      let ws;
      try {
        ws = new this.#WebSocket(url, [options.protocol, TOKEN_SUBPROTOCOL_PREFIX + token]);
      } catch (error) {
        options.onError?.(error);
        const reason = String(error);
        resolve({ code: SessionCloseCode.ABNORMAL, reason, opened: false, established: false });
        return;
      }
      let ended = false;
      /** @param {number} code @param {string} reason */
      const finish = (code, reason) => {
        if (ended) return;
        ended = true;
        connection._dispose();
        if (this.#connection === connection) this.#connection = null;
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        if (ws.readyState <= 1) {
          // CONNECTING or OPEN: we gave up on it (stop(), or found dead)
          try {
            ws.close(1000);
          } catch {
            // already closing
          }
        }
        const { opened, isEstablished: established } = connection;
        resolve({ code, reason, opened, established });
      };
      const connection = new Connection(
        ws,
        finish,
        options.connectTimeoutMs ?? 10_000,
        options.handshakeTimeoutReason ?? "The server went silent.",
      );
      this.#connection = connection;

      ws.onopen = () => {
        connection.opened = true;
        options.onOpen?.(connection);
      };
      ws.onclose = (event) => finish(event.code, event.reason);
      ws.onmessage = (message) => {
        /** @type {unknown} */
        let frame;
        try {
          frame = JSON.parse(String(message.data));
        } catch (error) {
          options.onError?.(error);
          return;
        }
        if (typeof frame !== "object" || frame === null) return;
        connection._heard();
        if (/** @type {{ type?: unknown }} */ (frame).type === "ping") {
          connection.send(options.pong);
          return;
        }
        if (options.idlePong && connection._idle()) connection.send(options.pong);
        options.onFrame(/** @type {F} */ (frame), connection);
      };
    });
  }
}
