// When a call is reconnecting and when it restarts ICE (src/switchboard/web/calling-recovery.js),
// on a fake clock: the Call's hooks are recorded, ICE and signaling states are played in.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  CallRecovery,
  DISCONNECTED_MS,
  MIN_GAP_MS,
  RETRY_MS,
} from "../../src/switchboard/web/calling-recovery.js";
import { fakeClock } from "./fake-socket.mjs";

/** A recovery whose restarts and changes are recorded. @param {{ restarts?: boolean }} [o] */
function recorded({ restarts = true } = {}) {
  /** @type {boolean[]} */
  const changes = [];
  const log = { restarts: 0 };
  const recovery = new CallRecovery({
    restarts: () => restarts,
    restart: async () => {
      log.restarts += 1;
    },
    changed: (reconnecting) => changes.push(reconnecting),
  });
  return { recovery, changes, log };
}

test("a short ICE disconnection that heals by itself restarts nothing", async (t) => {
  const clock = fakeClock(t);
  const { recovery, changes, log } = recorded();
  recovery.ice("checking");
  recovery.ice("connected");
  recovery.ice("disconnected");
  assert.equal(recovery.reconnecting, true);
  await clock.advance(DISCONNECTED_MS - 500);
  recovery.ice("connected");
  await clock.advance(RETRY_MS * 2);
  assert.equal(log.restarts, 0);
  assert.deepEqual(changes, [true, false]);
});

test("ICE disconnected for long, or failed, restarts; retries until connected", async (t) => {
  const clock = fakeClock(t);
  const { recovery, changes, log } = recorded();
  recovery.ice("connected");
  recovery.ice("disconnected");
  await clock.advance(DISCONNECTED_MS);
  assert.equal(log.restarts, 1);
  recovery.ice("failed"); // the restart's checks failed too: again, but not before the gap
  await clock.advance(MIN_GAP_MS - 100);
  assert.equal(log.restarts, 1);
  await clock.advance(200);
  assert.equal(log.restarts, 2);
  await clock.advance(RETRY_MS); // still not connected: once more
  assert.equal(log.restarts, 3);
  recovery.ice("connected");
  await clock.advance(RETRY_MS * 3);
  assert.equal(log.restarts, 3);
  assert.deepEqual(changes, [true, false]);
  assert.equal(recovery.restarts, 0);
});

test("while signaling is down nothing restarts; its return restarts ICE at once", async (t) => {
  const clock = fakeClock(t);
  const { recovery, changes, log } = recorded();
  recovery.ice("connected");
  recovery.signaling(false);
  assert.equal(recovery.reconnecting, true);
  recovery.ice("failed");
  await clock.advance(RETRY_MS * 5); // a 40 s outage
  assert.equal(log.restarts, 0);
  recovery.signaling(true);
  await clock.advance(10);
  assert.equal(log.restarts, 1);
  assert.equal(recovery.reconnecting, true); // media is not back yet
  recovery.ice("connected");
  assert.deepEqual(changes, [true, false]);
});

test("a signaling drop alone is reconnecting, and needs no ICE restart", async (t) => {
  const clock = fakeClock(t);
  const { recovery, changes, log } = recorded();
  recovery.ice("connected");
  recovery.signaling(false);
  recovery.signaling(true);
  await clock.advance(RETRY_MS);
  assert.equal(log.restarts, 0);
  assert.deepEqual(changes, [true, false]);
});

test("the side that does not restart (a 1:1 callee) only shows reconnecting", async (t) => {
  const clock = fakeClock(t);
  const { recovery, changes, log } = recorded({ restarts: false });
  recovery.ice("connected");
  recovery.ice("failed");
  await clock.advance(RETRY_MS * 3);
  assert.equal(log.restarts, 0);
  recovery.ice("connected"); // the caller's restart offer reached us and was answered
  assert.deepEqual(changes, [true, false]);
});

test("ICE that never connected is not reconnecting; close ends it and stops restarts", async (t) => {
  const clock = fakeClock(t);
  const { recovery, changes, log } = recorded();
  recovery.ice("checking");
  recovery.ice("disconnected");
  assert.equal(recovery.reconnecting, false);
  recovery.ice("connected");
  recovery.ice("failed");
  recovery.close();
  await clock.advance(RETRY_MS * 2);
  assert.equal(log.restarts, 0);
  assert.deepEqual(changes, [true, false]);
});
