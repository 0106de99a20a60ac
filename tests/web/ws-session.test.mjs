// The reconnecting WebSocket session (src/switchboard/web/ws-session.js) on a fake socket and
// a fake clock: backoff, tokens, heartbeat watchdog, close codes, stop; and its emitter.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Emitter, ResumePoint, WsSession } from "../../src/switchboard/web/ws-session.js";
import { fakeClock, fakeWebSocket, settle } from "./fake-socket.mjs";

/**
 * A session on a fake socket that records every hook call in `log`.
 * @param {Partial<import("../../src/switchboard/web/ws-session.js").WsSessionOptions<any>>} [overrides]
 */
function recordedSession(overrides = {}) {
  const transport = fakeWebSocket();
  /** @type {any[]} */
  const log = [];
  /** @type {boolean[]} */
  const tokenRequests = [];
  const session = new WsSession({
    url: () => "wss://sb.test/ws",
    protocol: "test.v1",
    getToken: async (refresh) => {
      tokenRequests.push(refresh);
      return `token-${tokenRequests.length}`;
    },
    closeAction: (code) => (code === 4003 ? "stop" : code === 4001 ? "refresh" : "retry"),
    pong: { type: "pong" },
    initialReconnectDelayMs: 100,
    maxReconnectDelayMs: 400,
    connectTimeoutMs: 1000,
    WebSocket: /** @type {any} */ (transport.FakeSocket),
    onOpen: () => log.push(["open"]),
    onFrame: (frame, connection) => {
      log.push(["frame", frame]);
      if (frame.type === "hello") connection.heartbeat(frame.heartbeatSeconds);
      if (frame.type === "live") connection.established();
    },
    onEnd: (end) => log.push(["end", end]),
    onStop: (code, reason) => log.push(["stop", code, reason]),
    onError: (error) => log.push(["error", String(error)]),
    ...overrides,
  });
  return { session, log, tokenRequests, ...transport };
}

/** @param {any[]} log @param {string} kind */
const entries = (log, kind) => log.filter((entry) => entry[0] === kind).map((e) => e.slice(1));

test("a dropped connection is replaced after a backoff that doubles up to its ceiling", async (t) => {
  const clock = fakeClock(t); // jitter pinned to 0: each delay is half its ceiling
  const { session, sockets, last } = recordedSession();
  session.start();
  await settle();
  /** @type {number[]} */
  const madeAt = [clock.now()];
  for (let i = 0; i < 4; i++) {
    last().open();
    last().serverClose(1006);
    while (sockets.length === madeAt.length) await clock.advance(1, 1);
    madeAt.push(clock.now());
  }
  const gaps = madeAt.slice(1).map((at, i) => at - madeAt[i]);
  assert.deepEqual(gaps, [50, 100, 200, 200]); // ceilings 100, 200, 400, 400
  session.stop();
});

test("the jitter spreads a delay over the upper half of its ceiling", async (t) => {
  const clock = fakeClock(t, 0.999);
  const { session, sockets, last } = recordedSession();
  session.start();
  await settle();
  last().serverClose(1006);
  await clock.advance(90, 1);
  assert.equal(sockets.length, 1, "a delay near the 100 ms ceiling, not before 90 ms");
  await clock.advance(20, 1);
  assert.equal(sockets.length, 2);
  session.stop();
});

test("the backoff starts over once a connection was established", async (t) => {
  const clock = fakeClock(t);
  const { session, sockets, last } = recordedSession();
  session.start();
  await settle();
  last().serverClose(1006); // attempt 0: 50 ms
  await clock.advance(50);
  last().serverClose(1006); // attempt 1: 100 ms
  await clock.advance(100);
  assert.equal(sockets.length, 3);
  last().open();
  last().frame({ type: "live" }); // established: the next delay is the first one again
  last().serverClose(1012);
  await clock.advance(50);
  assert.equal(sockets.length, 4);
  session.stop();
});

test("every connect fetches a token; a refresh close asks for a fresh one", async (t) => {
  const clock = fakeClock(t);
  const { session, sockets, last, tokenRequests } = recordedSession();
  session.start();
  await settle();
  last().serverClose(4001);
  await clock.advance(50);
  last().serverClose(1006);
  await clock.advance(100);
  assert.deepEqual(tokenRequests, [false, true, false]);
  // Each connect carries its own token in a subprotocol beside the protocol, never in the URL.
  assert.deepEqual(
    sockets.map((s) => [s.url, s.protocols]),
    [1, 2, 3].map((n) => ["wss://sb.test/ws", ["test.v1", `access_token.token-${n}`]]),
  );
  session.stop();
});

test("a refused token with no fresh one stops the session with 4001", async (t) => {
  const clock = fakeClock(t);
  const { session, sockets, last, log } = recordedSession({
    getToken: async (refresh) => (refresh ? null : "fixed"),
  });
  session.start();
  await settle();
  last().open();
  last().serverClose(4001, "expired");
  await clock.advance(1000);
  assert.equal(sockets.length, 1);
  assert.deepEqual(entries(log, "stop"), [[4001, "The token was refused; no fresh one."]]);
  assert.equal(session.running, false);
});

test("a token failure is reported and retried in retry mode", async (t) => {
  const clock = fakeClock(t);
  let calls = 0;
  const { session, sockets, log } = recordedSession({
    tokenErrors: "retry",
    getToken: async () => {
      if (++calls === 1) throw new Error("backend down");
      return "t";
    },
  });
  session.start();
  await settle();
  assert.deepEqual(entries(log, "error"), [["Error: backend down"]]);
  assert.equal(sockets.length, 0);
  await clock.advance(50);
  assert.equal(sockets.length, 1);
  session.stop();
});

test("a token failure stops the session with 1006 by default", async (t) => {
  fakeClock(t);
  const { session, sockets, log } = recordedSession({
    getToken: async () => {
      throw new Error("no credential");
    },
  });
  session.start();
  await settle();
  assert.equal(sockets.length, 0);
  assert.deepEqual(entries(log, "stop"), [[1006, "Error: no credential"]]);
  assert.deepEqual(entries(log, "error"), []);
});

test("a ping is answered with the pong frame and not passed on", async (t) => {
  fakeClock(t);
  const { session, last, log } = recordedSession({ pong: { v: 1, type: "pong" } });
  session.start();
  await settle();
  last().open();
  last().frame({ type: "ping" });
  assert.deepEqual(last().sent, [{ v: 1, type: "pong" }]);
  assert.deepEqual(entries(log, "frame"), []);
  session.stop();
});

test("a connection silent for two heartbeats is dropped with 1006 and replaced", async (t) => {
  const clock = fakeClock(t);
  const { session, sockets, last, log } = recordedSession();
  session.start();
  await settle();
  const first = last();
  first.open();
  first.frame({ type: "hello", heartbeatSeconds: 1 });
  first.frame({ type: "live" });
  for (let i = 0; i < 5; i++) {
    await clock.advance(1500); // pings keep it alive: each frame moves the deadline
    first.frame({ type: "ping" });
  }
  assert.equal(first.closedByClient, null);
  await clock.advance(1990);
  assert.equal(first.closedByClient, null);
  await clock.advance(20); // 2 s since the last ping: the pongs stopped, it is dead
  assert.equal(first.closedByClient, 1000);
  const [[end]] = entries(log, "end");
  assert.deepEqual(end, {
    code: 1006,
    reason: "The server sent nothing for two heartbeat intervals.",
    opened: true,
    established: true,
    willReconnect: true,
    stopped: false,
  });
  await clock.advance(50);
  assert.equal(sockets.length, 2);
  session.stop();
});

test("a connection with no handshake within connectTimeoutMs is dropped", async (t) => {
  const clock = fakeClock(t);
  const { session, last, log } = recordedSession({ handshakeTimeoutReason: "No hello." });
  session.start();
  await settle();
  last().open();
  last().frame({ type: "something" }); // a frame before the handshake does not extend it
  await clock.advance(990);
  assert.equal(last().closedByClient, null);
  await clock.advance(10);
  assert.equal(last().closedByClient, 1000);
  const [[end]] = entries(log, "end");
  assert.equal(end.code, 1006);
  assert.equal(end.reason, "No hello.");
  assert.equal(end.established, false);
  session.stop();
});

test("a close code meaning stop ends the session: onEnd, then onStop, no reconnect", async (t) => {
  const clock = fakeClock(t);
  const { session, sockets, last, log } = recordedSession();
  session.start();
  await settle();
  last().open();
  last().serverClose(4003, "revoked");
  await clock.advance(1000);
  assert.equal(sockets.length, 1);
  assert.deepEqual(
    log.filter((e) => e[0] !== "open"),
    [
      [
        "end",
        {
          code: 4003,
          reason: "revoked",
          opened: true,
          established: false,
          willReconnect: false,
          stopped: false,
        },
      ],
      ["stop", 4003, "revoked"],
    ],
  );
  assert.equal(session.running, false);
  assert.equal(session.socket, null);
});

test("stop() closes the socket with 1000 and never reconnects; onStop is not called", async (t) => {
  const clock = fakeClock(t);
  const { session, sockets, last, log } = recordedSession();
  session.start();
  await settle();
  const socket = last();
  socket.open();
  session.stop();
  await settle();
  assert.equal(socket.closedByClient, 1000);
  const [[end]] = entries(log, "end");
  assert.equal(end.code, 1000);
  assert.equal(end.stopped, true);
  assert.equal(end.willReconnect, false);
  await clock.advance(5000);
  assert.equal(sockets.length, 1);
  assert.deepEqual(entries(log, "stop"), []);
});

test("stop() during a backoff ends the wait; start() runs the session again", async (t) => {
  const clock = fakeClock(t);
  const { session, sockets, last } = recordedSession();
  session.start();
  await settle();
  last().serverClose(1006);
  await settle();
  session.stop();
  await clock.advance(1000);
  assert.equal(sockets.length, 1);
  session.start();
  await settle();
  assert.equal(sockets.length, 2);
  session.stop();
});

test("after half a heartbeat without sending, an incoming frame gets a pong (idlePong)", async (t) => {
  const clock = fakeClock(t);
  const { session, last } = recordedSession({ idlePong: true });
  session.start();
  await settle();
  last().open();
  last().frame({ type: "hello", heartbeatSeconds: 2 });
  await clock.advance(500);
  last().frame({ type: "event" });
  assert.deepEqual(last().sent, []);
  await clock.advance(500);
  last().frame({ type: "event" });
  assert.deepEqual(last().sent, [{ type: "pong" }]);
  session.stop();
});

test("a frame that is not JSON is reported and the connection goes on", async (t) => {
  fakeClock(t);
  const { session, last, log } = recordedSession();
  session.start();
  await settle();
  last().open();
  last().text("not json");
  last().frame(42);
  last().frame({ type: "event" });
  assert.equal(entries(log, "error").length, 1);
  assert.deepEqual(entries(log, "frame"), [[{ type: "event" }]]);
  assert.equal(last().closedByClient, null);
  session.stop();
});

test("send() sends only on an open socket", async (t) => {
  fakeClock(t);
  const { session, last } = recordedSession();
  assert.equal(session.send({ type: "x" }), false);
  session.start();
  await settle();
  assert.equal(session.send({ type: "x" }), false); // still connecting
  last().open();
  assert.equal(session.send({ type: "x" }), true);
  assert.deepEqual(last().sent, [{ type: "x" }]);
  session.stop();
});

test("a WebSocket that cannot be made is reported and retried", async (t) => {
  const clock = fakeClock(t);
  let made = 0;
  const { session, log } = recordedSession({
    WebSocket: /** @type {any} */ (
      class {
        constructor() {
          made++;
          throw new SyntaxError("bad url");
        }
      }
    ),
  });
  session.start();
  await settle();
  await clock.advance(50);
  assert.equal(made, 2);
  assert.deepEqual(entries(log, "error"), [["SyntaxError: bad url"], ["SyntaxError: bad url"]]);
  assert.deepEqual(entries(log, "end")[0][0].code, 1006);
  session.stop();
});

test("the emitter calls every handler even when one throws, and off() removes one", (t) => {
  const reported = [];
  t.mock.method(console, "error", (/** @type {unknown} */ error) => reported.push(error));
  /** @extends {Emitter<{ ping: number }, string>} */
  class Pinger extends Emitter {
    /** @param {number} n */
    ping(n) {
      this._emit("ping", n, "meta");
    }
  }
  const pinger = new Pinger();
  /** @type {any[]} */
  const seen = [];
  const broken = () => {
    throw new Error("handler bug");
  };
  const good = (/** @type {number} */ n, /** @type {string} */ meta) => seen.push([n, meta]);
  pinger.on("ping", broken);
  pinger.on("ping", good);
  pinger.ping(1);
  pinger.off("ping", good);
  pinger.ping(2);
  assert.deepEqual(seen, [[1, "meta"]]);
  assert.equal(reported.length, 2);
});

test("a resume point takes only positions above it", () => {
  const point = new ResumePoint(/** @type {number | null} */ (null), (a, b) => a < b);
  assert.equal(point.advance(3), true);
  assert.equal(point.advance(3), false);
  assert.equal(point.advance(2), false);
  assert.equal(point.advance(4), true);
  assert.equal(point.value, 4);
  point.reset();
  assert.equal(point.advance(1), true);
});

test("the browser going offline drops the socket; back online, it reconnects at once", async (t) => {
  const clock = fakeClock(t);
  const page = new EventTarget(); // the page's window: its online/offline events
  const g = /** @type {any} */ (globalThis);
  g.addEventListener = page.addEventListener.bind(page);
  g.removeEventListener = page.removeEventListener.bind(page);
  t.after(() => {
    delete g.addEventListener;
    delete g.removeEventListener;
  });
  const { session, sockets, last, log } = recordedSession({ maxReconnectDelayMs: 10_000 });
  session.start();
  await settle();
  last().open();
  page.dispatchEvent(new Event("offline"));
  assert.equal(last().closedByClient, 1000); // given up on: the session reports 1006
  await settle();
  assert.deepEqual(entries(log, "end").at(-1)?.[0].code, 1006);
  for (let n = 0; n < 5; n++) {
    // offline: each attempt fails, the backoff grows towards its 10 s ceiling
    while (sockets.length === n + 1) await clock.advance(10);
    last().serverClose(1006);
  }
  const before = sockets.length;
  await clock.advance(100);
  assert.equal(sockets.length, before, "still waiting out a long backoff");
  page.dispatchEvent(new Event("online"));
  await clock.advance(10);
  assert.equal(sockets.length, before + 1, "reconnected without waiting the backoff");
  session.stop();
  page.dispatchEvent(new Event("offline")); // stopped: no longer listening
  assert.equal(sockets.length, before + 1);
});
