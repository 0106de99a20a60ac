// A scripted stand-in for the browser's WebSocket and a fake clock, for the unit tests of the
// browser modules (src/switchboard/web) under `node --test`: no browser, no server. The test
// plays the server through open(), frame(), serverClose(); time moves only when it says so.
//
//   new session ─▶ new FakeSocket(url, protocol) (recorded in `sockets`) ─▶ test: open()
//     ─▶ frame({...}) … the client's sends land in `sent` (parsed) ─▶ serverClose(code) or
//     clock.advance(ms) until the client gives up on it (closedByClient)

/** A fresh WebSocket class for one test, and every socket made with it, in order. */
export function fakeWebSocket() {
  /** @type {FakeSocket[]} */
  const sockets = [];

  class FakeSocket {
    /** @param {string} url @param {string | string[]} [protocols] */
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      /** @type {any[]} */
      this.sent = [];
      /** @type {number | null} */
      this.closedByClient = null;
      /** @type {any} */
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      sockets.push(this);
    }

    /** The server accepted the connection. */
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }

    /** @param {string} data */
    send(data) {
      if (this.readyState !== 1) throw new Error("InvalidStateError: not open");
      this.sent.push(JSON.parse(data));
    }

    close(code = 1000, reason = "") {
      if (this.readyState >= 2) return;
      this.readyState = 3;
      this.closedByClient = code;
      this.onclose?.({ code, reason });
    }

    /** The server sends a frame. @param {unknown} frame */
    frame(frame) {
      this.onmessage?.({ data: JSON.stringify(frame) });
    }

    /** The server sends a text that is not JSON. @param {string} text */
    text(text) {
      this.onmessage?.({ data: text });
    }

    /** The server (or the network) ends the connection. @param {number} code */
    serverClose(code, reason = "") {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }

    /** The sent frames of one type. @param {string} type */
    sentOf(type) {
      return this.sent.filter((frame) => frame.type === type);
    }
  }

  return {
    FakeSocket,
    sockets,
    /** The newest socket. */
    last: () => {
      const socket = sockets.at(-1);
      if (!socket) throw new Error("no socket was made");
      return socket;
    },
  };
}

/**
 * Fake setTimeout and Date for one test (node:test's mock timers); `Math.random` pinned so
 * the backoff's jitter is known (0: every delay is half its ceiling).
 * @param {import("node:test").TestContext} t
 * @param {number} [random]
 */
export function fakeClock(t, random = 0) {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  t.mock.method(Math, "random", () => random);
  const start = Date.now();
  return {
    /** Milliseconds since the test began. */
    now: () => Date.now() - start,
    /**
     * Move time on by `ms`, in steps, letting promises settle before and after each (what
     * the code does after an await, such as setting its next timer, happens on time).
     * @param {number} ms
     */
    async advance(ms, step = 10) {
      await settle();
      for (let left = ms; left > 0; left -= step) {
        t.mock.timers.tick(Math.min(step, left));
        await settle();
      }
    },
  };
}

/** Let every pending promise callback run (setImmediate is not faked). */
export async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
