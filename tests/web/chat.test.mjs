// chat.js's ChatRealtimeClient on a fake socket: frames in, events out, cursor resume, close
// codes, keepalive and stop.
import { test } from "node:test";
import assert from "node:assert/strict";

import { ChatRealtimeClient } from "../../src/switchboard/web/chat.js";
import { fakeClock, fakeWebSocket, settle } from "./fake-socket.mjs";

const NAMES = [
  "chatMessageReceived",
  "typingIndicatorReceived",
  "resync",
  "connected",
  "disconnected",
  "error",
];
const HELLO = {
  type: "hello",
  protocol: "switchboard.chat.v1",
  userId: "8:acs:bob",
  heartbeatSeconds: 10,
};

/** @param {string | null} cursor @param {string} text */
const message = (cursor, text) => ({
  type: "event",
  name: "chatMessageReceived",
  cursor,
  data: { message: text },
});

/**
 * A client on a fake socket; `records` gets every event as [name, event, cursor].
 * @param {Record<string, unknown>} [options]
 */
function recordedClient(options = {}) {
  const transport = fakeWebSocket();
  /** @type {any[]} */
  const records = [];
  const client = new ChatRealtimeClient({
    endpoint: "https://chat.test:8443/base/",
    token: "t",
    initialReconnectDelayMs: 100,
    WebSocket: /** @type {any} */ (transport.FakeSocket),
    ...options,
  });
  for (const name of NAMES) {
    client.on(/** @type {any} */ (name), (event, meta) => {
      records.push([name, name === "error" ? String(event.error) : event, meta.cursor]);
    });
  }
  /** @param {string} name */
  const named = (name) => records.filter((r) => r[0] === name).map((r) => r[1]);
  return { client, records, named, ...transport };
}

/** Open the newest socket and play hello, then `frames`, then live at `cursor`. */
function connect(
  /** @type {any} */ socket,
  /** @type {string} */ cursor,
  /** @type {unknown[]} */ frames = [],
) {
  socket.open();
  socket.frame(HELLO);
  for (const frame of frames) socket.frame(frame);
  socket.frame({ type: "live", cursor });
}

test("start() resolves at live; events come out with their cursors", async (t) => {
  fakeClock(t);
  const { client, records, last } = recordedClient({ cursor: "3" });
  const started = client.start();
  await settle();
  assert.equal(last().url, "wss://chat.test:8443/base/chat/realtime?cursor=3");
  assert.deepEqual(last().protocols, ["switchboard.chat.v1", "access_token.t"]);
  connect(last(), "4", [message("4", "four")]);
  await started;
  assert.deepEqual(records, [
    ["chatMessageReceived", { message: "four" }, "4"],
    ["connected", { userId: "8:acs:bob", heartbeatSeconds: 10, cursor: "4" }, null],
  ]);
  assert.equal(client.cursor, "4");
  client.stop();
});

test("a drop reconnects from the last cursor and never emits an event twice", async (t) => {
  const clock = fakeClock(t);
  const { client, named, last, sockets } = recordedClient({ cursor: "3" });
  client.start();
  await settle();
  connect(last(), "4", [message("4", "four"), message("4", "again"), message("2", "stale")]);
  last().frame({ type: "event", name: "typingIndicatorReceived", cursor: null, data: {} });
  last().frame(message("5", "five"));
  last().serverClose(1012, "restarting");
  await clock.advance(50);
  assert.equal(sockets.length, 2);
  assert.match(last().url, /[?]cursor=5$/);
  connect(last(), "6", [message("5", "five again"), message("6", "six")]);
  const texts = named("chatMessageReceived").map((event) => event.message);
  assert.deepEqual(texts, ["four", "five", "six"]);
  assert.equal(named("typingIndicatorReceived").length, 1);
  assert.deepEqual(named("disconnected"), [
    { code: 1012, reason: "restarting", willReconnect: true },
  ]);
  assert.deepEqual(
    named("connected").map((event) => event.cursor),
    ["4", "6"],
  );
  client.stop();
});

test("a resync moves the cursor back, and is emitted", async (t) => {
  fakeClock(t);
  const { client, named, last } = recordedClient({ cursor: "30" });
  client.start();
  await settle();
  connect(last(), "20", [{ type: "resync", oldestCursor: "9", cursor: "20" }]);
  last().frame(message("21", "twenty-one"));
  assert.deepEqual(named("resync"), [{ oldestCursor: "9", cursor: "20" }]);
  assert.deepEqual(named("chatMessageReceived"), [{ message: "twenty-one" }]);
  assert.equal(client.cursor, "21");
  client.stop();
});

test("a revoked token (4003) stops the client and rejects start() with 4003", async (t) => {
  const clock = fakeClock(t);
  const { client, named, last, sockets } = recordedClient();
  const started = client.start();
  await settle();
  last().open();
  last().frame(HELLO);
  last().serverClose(4003, "revoked");
  await assert.rejects(started, { code: 4003 });
  assert.deepEqual(named("disconnected"), [
    { code: 4003, reason: "revoked", willReconnect: false },
  ]);
  await clock.advance(5000);
  assert.equal(sockets.length, 1);
  assert.equal(client._socket, null);
});

test("a refused token (4001) asks the provider for a new one and reconnects", async (t) => {
  const clock = fakeClock(t);
  const tokens = ["bad", "good"];
  let calls = 0;
  const { client, named, last, sockets } = recordedClient({
    token: undefined,
    tokenProvider: async () => tokens[calls++],
  });
  const started = client.start();
  await settle();
  last().open();
  last().serverClose(4001, "token");
  await clock.advance(50);
  assert.equal(sockets.length, 2);
  assert.deepEqual(last().protocols, ["switchboard.chat.v1", "access_token.good"]);
  connect(last(), "1");
  await started;
  assert.equal(calls, 2);
  assert.deepEqual(named("disconnected"), [{ code: 4001, reason: "token", willReconnect: true }]);
  client.stop();
});

test("a refused fixed token (4001) stops the client", async (t) => {
  fakeClock(t);
  const { client, named, last } = recordedClient();
  const started = client.start();
  await settle();
  last().open();
  last().serverClose(4001, "token");
  await assert.rejects(started, { code: 4001 });
  assert.deepEqual(named("disconnected"), [{ code: 4001, reason: "token", willReconnect: false }]);
});

test("a token provider failure is an error event and is retried", async (t) => {
  const clock = fakeClock(t);
  let calls = 0;
  const { client, named, sockets } = recordedClient({
    token: undefined,
    tokenProvider: async () => (++calls === 1 ? "" : "t"),
  });
  client.start();
  await settle();
  assert.deepEqual(named("error"), ["TypeError: tokenProvider must return a non-empty string"]);
  await clock.advance(50);
  assert.equal(sockets.length, 1);
  client.stop();
});

test("a server silent for two heartbeats is dropped (1006) and replaced", async (t) => {
  const clock = fakeClock(t);
  const { client, named, last, sockets } = recordedClient();
  client.start();
  await settle();
  connect(last(), "1");
  await clock.advance(19_000);
  last().frame({ type: "ping" }); // the server's heartbeat, answered
  assert.deepEqual(last().sent, [{ type: "pong" }]);
  await clock.advance(19_990);
  assert.equal(sockets.length, 1);
  await clock.advance(20);
  assert.deepEqual(named("disconnected"), [
    {
      code: 1006,
      reason: "The server sent nothing for two heartbeat intervals.",
      willReconnect: true,
    },
  ]);
  await clock.advance(100);
  assert.equal(sockets.length, 2);
  client.stop();
});

test("no hello within connectTimeoutMs drops the socket", async (t) => {
  const clock = fakeClock(t);
  const { client, named, last } = recordedClient({ connectTimeoutMs: 500 });
  client.start();
  await settle();
  last().open();
  await clock.advance(500);
  assert.deepEqual(named("disconnected"), [
    { code: 1006, reason: "The server did not say hello in time.", willReconnect: true },
  ]);
  client.stop();
});

test("after half a heartbeat without sending, an event is followed by a pong", async (t) => {
  const clock = fakeClock(t);
  const { client, last } = recordedClient();
  client.start();
  await settle();
  connect(last(), "1");
  await clock.advance(4_000);
  last().frame(message("2", "soon"));
  assert.deepEqual(last().sent, []);
  await clock.advance(1_000);
  last().frame(message("3", "later"));
  assert.deepEqual(last().sent, [{ type: "pong" }]);
  client.stop();
});

test("stop() rejects a pending start() with 1000, reports the close, and stays stopped", async (t) => {
  const clock = fakeClock(t);
  const { client, named, last, sockets } = recordedClient();
  const started = client.start();
  await settle();
  last().open();
  client.stop();
  await assert.rejects(started, { code: 1000 });
  await settle();
  assert.equal(last().closedByClient, 1000);
  assert.deepEqual(named("disconnected"), [
    { code: 1000, reason: "Stopped by the client.", willReconnect: false },
  ]);
  await clock.advance(5000);
  assert.equal(sockets.length, 1);
});

test("a frame that is not JSON is an error event; the connection goes on", async (t) => {
  fakeClock(t);
  const { client, named, last } = recordedClient();
  client.start();
  await settle();
  connect(last(), "1");
  last().text("{oops");
  last().frame(message("2", "after"));
  assert.equal(named("error").length, 1);
  assert.deepEqual(named("chatMessageReceived"), [{ message: "after" }]);
  client.stop();
});

test("the constructor refuses a missing endpoint, token or a malformed cursor", () => {
  assert.throws(() => new ChatRealtimeClient(/** @type {any} */ ({ token: "t" })), TypeError);
  assert.throws(() => new ChatRealtimeClient({ endpoint: "https://x" }), TypeError);
  assert.throws(
    () => new ChatRealtimeClient({ endpoint: "https://x", token: "t", cursor: "1a" }),
    TypeError,
  );
});
