// The signaling connection of the browser calling SDK: protocol `switchboard.calling.v1`
// (docs/calling-protocol.md). One WebSocket per CallAgent (one "device").
//
//   start() ─▶ token ─▶ WebSocket wss://…/calling/signaling?access_token=… (subprotocol)
//     ─▶ register {deviceId?, lastSeq?} ─▶ ack {deviceId, iceServers, heartbeatSeconds, …}
//     ─▶ requests not yet acked are (re)sent ─▶ frames, ping → pong … until the socket ends:
//          4003 / 4006 / 4009 / 4011 .............. stop for good (onClosed)
//          4001 (token) ........................... fresh token (if it can), reconnect
//          nothing heard for 2 × heartbeatSeconds . drop the socket, reconnect
//          anything else .......................... reconnect (backoff with jitter)
//     a reconnect resumes the same device with `lastSeq`: the server replays what we missed,
//     and drops resent requests it has already applied (their acks are in the replay).
//     Frames whose `seq` is not above the last one seen are never handled twice.

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
 * @typedef {{ new (url: string, protocols?: string | string[]): WebSocket }} WebSocketConstructor
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
  #url;
  #WebSocket;
  #initialDelay;
  #maxDelay;
  #running = false;
  /** @type {WebSocket | null} */
  #socket = null;
  /** @type {string | null} */
  #deviceId = null;
  /** @type {number | null} */
  #lastSeq = null;
  #registered = false;
  #heartbeatMs = 15_000;
  #prefix = Math.random().toString(36).slice(2, 8);
  #nextId = 0;
  /** @type {Map<string, Pending>} */
  #pending = new Map();
  /** @type {{ resolve: (r: Registration) => void, reject: (e: Error) => void } | null} */
  #firstRegistration = null;
  /** @type {(() => void) | null} */
  #wake = null;

  /** @param {SignalingOptions} options */
  constructor(options) {
    this.#options = options;
    this.#url = signalingUrl(options.endpoint);
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#initialDelay = options.initialReconnectDelayMs ?? 500;
    this.#maxDelay = options.maxReconnectDelayMs ?? 10_000;
  }

  get deviceId() {
    return this.#deviceId;
  }

  /** The current WebSocket, if any. For tests and debugging only. */
  get _socket() {
    return this.#socket;
  }

  /**
   * Connect and register; resolves with the first registration. Rejects if the connection
   * stops for good first (a fatal close code, or stop()); network failures are retried.
   * @returns {Promise<Registration>}
   */
  start() {
    if (this.#running) throw new Error("signaling already started");
    this.#running = true;
    const registered = new Promise((resolve, reject) => {
      this.#firstRegistration = { resolve, reject };
    });
    this.#run().catch((error) => this.#stop(SignalingCloseCode.ABNORMAL, String(error)));
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
    if (!this.#running) return Promise.reject(new SignalingError("Closed", "Signaling stopped."));
    const id = `${this.#prefix}-${++this.#nextId}`;
    const frame = { v: 1, type, id, ...fields };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { frame, resolve, reject, onAck });
      if (this.#registered) this.#send(frame);
    });
  }

  /** Unregister the device (its calls end on the server) and close. */
  stop() {
    if (!this.#running) return;
    if (this.#registered) this.#send({ v: 1, type: "unregister" });
    this.#stop(SignalingCloseCode.NORMAL, "Stopped by the client.", false);
  }

  /** @param {number} code @param {string} reason @param {boolean} [notify] */
  #stop(code, reason, notify = true) {
    if (!this.#running) return;
    this.#running = false;
    this.#registered = false;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000);
      } catch {
        // already closing
      }
    }
    this.#wake?.();
    const error = new SignalingError("Closed", `Signaling stopped: ${code} ${reason}`);
    this.#firstRegistration?.reject(Object.assign(error, { closeCode: code }));
    this.#firstRegistration = null;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    if (notify) this.#options.onClosed(code, reason);
  }

  async #run() {
    let attempt = 0;
    let refresh = false;
    while (this.#running) {
      const token = await this.#options.getToken(refresh);
      if (!this.#running) return;
      if (token === null) {
        this.#stop(SignalingCloseCode.UNAUTHORIZED, "The token was refused; no fresh one.");
        return;
      }
      const end = await this.#connect(token);
      if (!this.#running) return;
      if (end.registered) {
        attempt = 0;
        this.#options.onConnection(false);
      }
      if (FATAL.has(end.code)) {
        this.#stop(end.code, end.reason);
        return;
      }
      refresh = end.code === SignalingCloseCode.UNAUTHORIZED;
      await this.#sleep(this.#backoff(attempt++));
    }
  }

  /** @param {number} attempt @returns {number} exponential, with "equal jitter" */
  #backoff(attempt) {
    const ceiling = Math.min(this.#maxDelay, this.#initialDelay * 2 ** Math.min(attempt, 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** @param {number} ms @returns {Promise<void>} ends early on stop() */
  #sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  /**
   * One WebSocket, from creation to its end.
   * @param {string} token
   * @returns {Promise<{ code: number, reason: string, registered: boolean }>}
   */
  #connect(token) {
    const url = new URL(this.#url);
    url.searchParams.set("access_token", token);
    return new Promise((resolve) => {
      /** @type {WebSocket} */
      let ws;
      try {
        ws = new this.#WebSocket(url.toString(), PROTOCOL);
      } catch (error) {
        resolve({ code: SignalingCloseCode.ABNORMAL, reason: String(error), registered: false });
        return;
      }
      this.#socket = ws;
      const registerId = `${this.#prefix}-register-${++this.#nextId}`;
      let registered = false;
      // Until the register ack, allow 10 s; then two heartbeats of silence mean a dead link.
      let deadline = Date.now() + 10_000;
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let watchdog;

      /** @param {number} code @param {string} reason */
      const finish = (code, reason) => {
        clearTimeout(watchdog);
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        if (ws.readyState <= 1) {
          try {
            ws.close(1000);
          } catch {
            // already closing
          }
        }
        if (this.#socket === ws) this.#socket = null;
        this.#registered = false;
        resolve({ code, reason, registered });
      };
      const watch = () => {
        const left = deadline - Date.now();
        if (left > 0) watchdog = setTimeout(watch, left);
        else finish(SignalingCloseCode.ABNORMAL, "The server went silent.");
      };
      watchdog = setTimeout(watch, deadline - Date.now());
      this.#wake = () => finish(SignalingCloseCode.NORMAL, "Stopped by the client.");

      ws.onopen = () => {
        /** @type {Record<string, unknown>} */
        const register = { v: 1, type: "register", id: registerId };
        if (this.#deviceId !== null) {
          register.deviceId = this.#deviceId;
          if (this.#lastSeq !== null) register.lastSeq = this.#lastSeq;
        }
        ws.send(JSON.stringify(register));
      };
      ws.onclose = (event) => finish(event.code, event.reason);
      ws.onmessage = (message) => {
        /** @type {ServerFrame} */
        let frame;
        try {
          frame = JSON.parse(String(message.data));
        } catch {
          return; // not JSON: nothing this protocol revision sends
        }
        if (typeof frame !== "object" || frame === null) return;
        deadline = Date.now() + 2 * this.#heartbeatMs;
        if (frame.type === "ping") {
          ws.send(JSON.stringify({ v: 1, type: "pong" }));
          return;
        }
        if (frame.type === "ack" && frame.id === registerId) {
          if (!frame.ok) return finish(SignalingCloseCode.PROTOCOL, "register refused");
          registered = true;
          this.#onRegistered(/** @type {Registration} */ (/** @type {unknown} */ (frame)));
          deadline = Date.now() + 2 * this.#heartbeatMs;
          return;
        }
        if (typeof frame.seq === "number") {
          if (this.#lastSeq !== null && frame.seq <= this.#lastSeq) return; // a replayed frame
          this.#lastSeq = frame.seq;
        }
        if (frame.type === "ack") this.#onAck(frame);
        else this.#options.onFrame(frame);
      };
    });
  }

  /** @param {Registration} registration */
  #onRegistered(registration) {
    const lost = this.#deviceId !== null && !registration.resumed;
    if (lost || this.#deviceId === null) this.#lastSeq = null; // a new device counts from 1
    if (lost) {
      // The server forgot the old device (grace expired, or another node): requests made for
      // it would act on calls it no longer has.
      const error = new SignalingError("DeviceLost", "The server no longer knows this device.");
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    }
    this.#deviceId = registration.deviceId;
    const seconds = Number(registration.heartbeatSeconds);
    this.#heartbeatMs = 1000 * (seconds > 0 ? seconds : 15);
    this.#registered = true;
    for (const pending of this.#pending.values()) this.#send(pending.frame);
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

  /** @param {Record<string, unknown>} frame */
  #send(frame) {
    const ws = this.#socket;
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame));
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
