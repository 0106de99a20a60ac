// When a call's connections are being recovered (`call.isReconnecting`), and when its peer
// connection restarts ICE. One per Call; the Call feeds it the peer connection's ICE state
// and the signaling connection's ups and downs, and gives it the restart to run.
//
//   signaling down ─────────────────────────────────┐
//   ICE disconnected (after it had connected) ──────┼─▶ reconnecting = true
//   ICE failed ─────────────────────────────────────┘
//   ICE connected and signaling up ─────────────────────▶ reconnecting = false
//
//   restart ICE when, with signaling up, ICE is failed, or disconnected for DISCONNECTED_MS
//   (a short loss of packets recovers by itself), or not connected when signaling comes back
//   ─▶ restart() (pc.restartIce() + a new offer through signaling)
//   ─▶ still not connected RETRY_MS later ─▶ restart again … until connected or closed
//
// Who restarts: in a group call we do (the SFU is ICE-lite: only the full agent, the browser,
// can); in a 1:1 call only the side that placed it, so that two restart offers never cross
// (the other side answers the offer when it arrives, however late: signaling replays it).

/** How long ICE may stay `disconnected` before we restart it. */
export const DISCONNECTED_MS = 2000;
/** How long a restart may take before the next one. */
export const RETRY_MS = 8000;
/** Restarts are at least this far apart (a restart that fails at once must not spin). */
export const MIN_GAP_MS = 2000;

/**
 * @typedef {object} RecoveryHooks
 * @property {() => boolean} restarts  Whether this side restarts ICE (see above).
 * @property {() => Promise<unknown>} restart  Restart ICE (resolves once the offer is sent).
 * @property {(reconnecting: boolean) => void} changed  `reconnecting` turned.
 */

export class CallRecovery {
  #hooks;
  /** @type {RTCIceConnectionState} */
  #ice = "new";
  #everConnected = false;
  #signalingUp = true;
  #reconnecting = false;
  #closed = false;
  #restarting = false;
  #lastRestart = -Infinity;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  /** Restarts run since ICE was last connected. */
  restarts = 0;

  /** @param {RecoveryHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
  }

  get reconnecting() {
    return this.#reconnecting;
  }

  /** The peer connection's `iceConnectionState` changed. @param {RTCIceConnectionState} state */
  ice(state) {
    if (this.#closed) return;
    this.#ice = state;
    if (this.#connected()) {
      this.#everConnected = true;
      this.restarts = 0;
      this.#clearTimer();
    } else if (state === "failed") {
      this.#restartSoon(0);
    } else if (state === "disconnected" && this.#everConnected) {
      this.#restartSoon(DISCONNECTED_MS);
    }
    this.#update();
  }

  /** The signaling connection went down, or came back (re-registered). @param {boolean} up */
  signaling(up) {
    if (this.#closed || up === this.#signalingUp) return;
    this.#signalingUp = up;
    if (up && this.#everConnected && !this.#connected()) this.#restartSoon(0);
    this.#update();
  }

  /** A new peer connection replaced the old one (its ICE starts over). */
  reset() {
    this.#clearTimer();
    this.#ice = "new";
    this.#everConnected = false;
    this.restarts = 0;
    this.#update();
  }

  close() {
    this.#closed = true;
    this.#clearTimer();
    if (this.#reconnecting) {
      this.#reconnecting = false;
      this.#hooks.changed(false);
    }
  }

  #connected() {
    return this.#ice === "connected" || this.#ice === "completed";
  }

  #update() {
    const media = this.#everConnected && (this.#ice === "disconnected" || this.#ice === "failed");
    const reconnecting = !this.#closed && (media || !this.#signalingUp);
    if (reconnecting === this.#reconnecting) return;
    this.#reconnecting = reconnecting;
    this.#hooks.changed(reconnecting);
  }

  /** @param {number} delayMs */
  #restartSoon(delayMs) {
    if (this.#timer !== undefined && delayMs > 0) return; // one is already due
    this.#clearTimer();
    const wait = Math.max(delayMs, this.#lastRestart + MIN_GAP_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#restart();
    }, wait);
  }

  async #restart() {
    if (this.#closed || this.#connected() || this.#restarting) return;
    if (!this.#hooks.restarts()) return;
    if (this.#signalingUp) {
      this.#restarting = true;
      this.#lastRestart = Date.now();
      this.restarts += 1;
      try {
        await this.#hooks.restart();
      } catch {
        // refused or cut off: the next attempt comes below
      } finally {
        this.#restarting = false;
      }
    }
    // Not connected in time (or signaling is down: it calls signaling(true) when back).
    if (!this.#closed && !this.#connected() && this.#signalingUp) this.#restartSoon(RETRY_MS);
  }

  #clearTimer() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
