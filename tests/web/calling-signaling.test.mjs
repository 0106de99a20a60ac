// calling-signaling.js's Signaling on a fake socket: register and resume, frames in, requests
// acked, refused, resent across a drop (they have no timeout of their own: they wait for an
// ack or for the connection to stop for good), close codes and stop.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Signaling, SignalingError } from "../../src/switchboard/web/calling-signaling.js";
import { fakeClock, fakeWebSocket, settle } from "./fake-socket.mjs";

const PROTOCOL = "switchboard.calling.v1";

/**
 * A Signaling on a fake socket; `log` records every callback.
 * @param {{ getToken?: (refresh: boolean) => Promise<string | null>,
 *   resume?: { deviceId: string, lastSeq: number | null } }} [options]
 */
function recordedSignaling(options = {}) {
  const transport = fakeWebSocket();
  /** @type {any[]} */
  const log = [];
  const signaling = new Signaling({
    endpoint: "https://sb.test:8443",
    getToken: options.getToken ?? (async () => "t"),
    onFrame: (frame) => log.push(["frame", frame]),
    onRegistered: (registration) => log.push(["registered", registration.deviceId]),
    onConnection: (connected) => log.push(["connection", connected]),
    onClosed: (code, reason) => log.push(["closed", code, reason]),
    initialReconnectDelayMs: 100,
    WebSocket: /** @type {any} */ (transport.FakeSocket),
    resume: options.resume,
  });
  /** @param {string} kind */
  const logged = (kind) => log.filter((e) => e[0] === kind).map((e) => e.slice(1));
  return { signaling, log, logged, ...transport };
}

/**
 * Open the newest socket and ack its register frame.
 * @param {any} socket
 * @param {Record<string, unknown>} [fields]  The ack's (resumed, calls, heartbeatSeconds …).
 */
function register(socket, fields = {}) {
  socket.open();
  const [frame] = socket.sentOf("register");
  socket.frame({
    v: 1,
    type: "ack",
    id: frame.id,
    ok: true,
    deviceId: "dev-1",
    userId: "8:acs:alice",
    resumed: false,
    calls: [],
    heartbeatSeconds: 5,
    iceServers: [],
    ...fields,
  });
  return frame;
}

test("start() registers over the subprotocol and resolves with the registration", async (t) => {
  fakeClock(t);
  const { signaling, logged, last } = recordedSignaling();
  const started = signaling.start();
  await settle();
  assert.equal(last().url, "wss://sb.test:8443/calling/signaling");
  assert.deepEqual(last().protocols, [PROTOCOL, "access_token.t"]);
  const frame = register(last());
  assert.deepEqual(Object.keys(frame).sort(), ["id", "type", "v"]); // a new device
  const registration = await started;
  assert.equal(registration.deviceId, "dev-1");
  assert.equal(signaling.deviceId, "dev-1");
  assert.deepEqual(logged("connection"), [[true]]);
  assert.deepEqual(logged("registered"), [["dev-1"]]);
  signaling.stop();
});

test("frames go to onFrame; a replayed seq is handled once", async (t) => {
  fakeClock(t);
  const { signaling, logged, last } = recordedSignaling();
  signaling.start();
  await settle();
  register(last());
  last().frame({ type: "incomingCall", seq: 1, callId: "c1" });
  last().frame({ type: "incomingCall", seq: 1, callId: "c1" });
  last().frame({ type: "callEnded", seq: 2, callId: "c1" });
  last().frame({ type: "ping" });
  assert.deepEqual(
    logged("frame").map(([frame]) => [frame.type, frame.seq]),
    [
      ["incomingCall", 1],
      ["callEnded", 2],
    ],
  );
  assert.deepEqual(last().sentOf("pong"), [{ v: 1, type: "pong" }]);
  signaling.stop();
});

test("a request resolves with its ack, runs its ack hook, or rejects on a refusal", async (t) => {
  fakeClock(t);
  const { signaling, last } = recordedSignaling();
  signaling.start();
  await settle();
  register(last());
  /** @type {any[]} */
  const hooked = [];
  const accepted = signaling.request("mute", { callId: "c1" }, (ack) => hooked.push(ack.id));
  const refused = signaling.request("hold", { callId: "c1" });
  const [mute, hold] = last().sent.slice(1);
  assert.deepEqual({ ...mute, id: undefined }, { v: 1, type: "mute", id: undefined, callId: "c1" });
  const error = { code: "NotFound", message: "no call" };
  last().frame({ v: 1, type: "ack", seq: 1, id: hold.id, ok: false, error });
  last().frame({ v: 1, type: "ack", seq: 2, id: mute.id, ok: true });
  assert.equal((await accepted).id, mute.id);
  assert.deepEqual(hooked, [mute.id]);
  await assert.rejects(refused, (error) => {
    assert.ok(error instanceof SignalingError);
    assert.equal(error.code, "NotFound");
    return true;
  });
  signaling.stop();
});

test("a drop resumes the device with lastSeq and resends unacked requests", async (t) => {
  const clock = fakeClock(t);
  const { signaling, logged, last, sockets } = recordedSignaling();
  signaling.start();
  await settle();
  register(last());
  last().frame({ type: "participantsUpdated", seq: 7, callId: "c1" });
  const muted = signaling.request("mute", { callId: "c1" });
  const [, mute] = last().sent;
  last().serverClose(1006);
  await settle();
  assert.deepEqual(logged("connection"), [[true], [false]]);
  const later = signaling.request("unmute", { callId: "c1" }); // while away: queued
  await clock.advance(50);
  assert.equal(sockets.length, 2);
  const frame = register(last(), { resumed: true });
  assert.equal(frame.deviceId, "dev-1");
  assert.equal(frame.lastSeq, 7);
  const resent = last().sent.slice(1).map((f) => f.type);
  assert.deepEqual(resent.sort(), ["mute", "unmute"]);
  last().frame({ v: 1, type: "ack", seq: 8, id: mute.id, ok: true });
  await muted;
  assert.deepEqual(logged("connection"), [[true], [false], [true]]);
  signaling.stop();
  await assert.rejects(later, { code: "Closed" });
});

test("a request waits for its ack across silence and drops; no timeout of its own", async (t) => {
  const clock = fakeClock(t);
  const { signaling, last, sockets } = recordedSignaling();
  signaling.start();
  await settle();
  register(last());
  let settled = false;
  const pending = signaling.request("mute", { callId: "c1" }).finally(() => (settled = true));
  pending.catch(() => {});
  for (let i = 0; i < 3; i++) {
    await clock.advance(10_100); // two 5 s heartbeats of silence: dropped, then back
    register(last(), { resumed: true });
    assert.deepEqual(last().sentOf("mute").length, 1); // resent on every new socket
  }
  assert.equal(sockets.length, 4);
  assert.equal(settled, false);
  signaling.stop();
  await assert.rejects(pending, { code: "Closed" });
});

test("a device the server forgot rejects its pending requests (DeviceLost)", async (t) => {
  const clock = fakeClock(t);
  const { signaling, last } = recordedSignaling();
  signaling.start();
  await settle();
  register(last());
  last().frame({ type: "x", seq: 3 });
  const pending = signaling.request("mute", { callId: "c1" });
  last().serverClose(1006);
  await clock.advance(50);
  register(last(), { resumed: false, deviceId: "dev-2" });
  await assert.rejects(pending, { code: "DeviceLost" });
  assert.equal(signaling.deviceId, "dev-2");
  last().frame({ type: "x", seq: 1 }); // the new device counts from 1
  last().serverClose(1006);
  await clock.advance(100);
  assert.equal(register(last()).lastSeq, 1);
  signaling.stop();
});

test("a fatal close code stops for good: onClosed, pending requests and start() reject", async (t) => {
  const clock = fakeClock(t);
  for (const code of [4003, 4006, 4009, 4011]) {
    const { signaling, logged, last, sockets } = recordedSignaling();
    const started = signaling.start();
    await settle();
    last().open();
    const pending = signaling.request("mute", {});
    last().serverClose(code, "no");
    await assert.rejects(started, { closeCode: code });
    await assert.rejects(pending, { code: "Closed" });
    assert.deepEqual(logged("closed"), [[code, "no"]]);
    await clock.advance(1000);
    assert.equal(sockets.length, 1);
    await assert.rejects(signaling.request("mute", {}), { code: "Closed" });
  }
});

test("a refused register ack is a protocol error that stops for good", async (t) => {
  fakeClock(t);
  const { signaling, logged, last } = recordedSignaling();
  const started = signaling.start();
  await settle();
  last().open();
  const [frame] = last().sentOf("register");
  last().frame({ v: 1, type: "ack", id: frame.id, ok: false });
  await assert.rejects(started, { closeCode: 4009 });
  assert.deepEqual(logged("closed"), [[4009, "register refused"]]);
});

test("4001 asks for a fresh token; none to be had stops with 4001", async (t) => {
  const clock = fakeClock(t);
  /** @type {boolean[]} */
  const asked = [];
  const { signaling, logged, last } = recordedSignaling({
    getToken: async (refresh) => {
      asked.push(refresh);
      return asked.length < 3 ? `t${asked.length}` : null;
    },
  });
  signaling.start();
  await settle();
  register(last());
  last().serverClose(4001);
  await clock.advance(50);
  assert.deepEqual(last().protocols, [PROTOCOL, "access_token.t2"]);
  last().open();
  last().serverClose(4001);
  await clock.advance(100);
  assert.deepEqual(asked, [false, true, true]);
  assert.deepEqual(logged("closed"), [[4001, "The token was refused; no fresh one."]]);
});

test("stop() unregisters, closes with 1000, and does not call onClosed", async (t) => {
  const clock = fakeClock(t);
  const { signaling, logged, last, sockets } = recordedSignaling();
  signaling.start();
  await settle();
  register(last());
  const socket = last();
  signaling.stop();
  await settle();
  assert.deepEqual(socket.sent.at(-1), { v: 1, type: "unregister" });
  assert.equal(socket.closedByClient, 1000);
  assert.deepEqual(logged("closed"), []);
  assert.deepEqual(logged("connection"), [[true]]);
  await clock.advance(1000);
  assert.equal(sockets.length, 1);
});

test("a token source that fails once registered is retried with backoff: calling goes on", async (t) => {
  const clock = fakeClock(t);
  let calls = 0;
  const { signaling, logged, last, sockets } = recordedSignaling({
    getToken: async () => {
      calls += 1;
      if (calls === 2 || calls === 3) throw new Error("token server down");
      return `t${calls}`;
    },
  });
  signaling.start();
  await settle();
  register(last());
  last().serverClose(4001);
  for (let i = 0; i < 6 && sockets.length < 2; i += 1) await clock.advance(1000);
  assert.equal(calls, 4);
  assert.equal(sockets.length, 2);
  assert.deepEqual(last().protocols, [PROTOCOL, "access_token.t4"]);
  register(last());
  assert.deepEqual(logged("closed"), []);
  assert.deepEqual(logged("registered"), [["dev-1"], ["dev-1"]]);
  signaling.stop();
});

test("a token source that fails before the first registration fails start()", async (t) => {
  fakeClock(t);
  const { signaling, sockets } = recordedSignaling({
    getToken: async () => {
      throw new Error("no token for you");
    },
  });
  await assert.rejects(signaling.start(), /no token for you/);
  assert.equal(sockets.length, 0);
});

test("a reloaded page registers as the device its previous page kept, after its position", async (t) => {
  fakeClock(t);
  const { signaling, last } = recordedSignaling({ resume: { deviceId: "dev-1", lastSeq: 41 } });
  const started = signaling.start();
  await settle();
  const frame = register(last(), { resumed: true, calls: ["call-1"] });
  assert.equal(frame.deviceId, "dev-1");
  assert.equal(frame.lastSeq, 41);
  assert.deepEqual((await started).calls, ["call-1"]);
  last().frame({ v: 1, seq: 41, type: "callUpdated", callId: "call-1" }); // seen by the old page
  last().frame({ v: 1, seq: 42, type: "callUpdated", callId: "call-1" });
  assert.equal(signaling.lastSeq, 42);
  signaling.stop();
});

test("stop(keepCalls) unregisters naming the 1:1 calls a reload resumes", async (t) => {
  fakeClock(t);
  const { signaling, last } = recordedSignaling();
  const started = signaling.start();
  await settle();
  register(last());
  await started;
  const socket = last();
  signaling.stop(["call-1"]);
  assert.deepEqual(socket.sentOf("unregister").map((f) => f.keepCalls), [["call-1"]]);
});
