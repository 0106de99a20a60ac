// The browser SDK's data channel without a browser: frames, receivers per (sender, channel),
// the sender's checks, the route request once, and the signaling relay when SCTP is not up.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  DataChannels, MAX_MESSAGE_BYTES, decodeFrame, encodeFrame,
} from "../../src/switchboard/web/calling-datachannel.js";

test("a frame survives encoding, the node's sender id included", () => {
  const frame = { channelId: 4095, sequence: 2 ** 32 - 1, sender: "p7", payload: new Uint8Array([1, 2, 3]) };
  const bytes = encodeFrame(frame);
  assert.deepEqual(decodeFrame(bytes.buffer), frame);
  assert.equal(decodeFrame(new ArrayBuffer(6)), null);
});

/** A port whose data channels are open (`open`) or not, recording requests and sends. */
function port({ group = true, open = true } = {}) {
  const requests = [];
  const sent = [];
  const channel = { send: (bytes) => sent.push(decodeFrame(bytes.buffer)) };
  return {
    requests, sent,
    request: async (type, fields) => {
      requests.push([type, fields]);
      if (fields.channelId === 99) throw Object.assign(new Error("no"), { code: "Forbidden" });
      return {};
    },
    links: () => ({ open: () => (open ? channel : null) }),
    isGroup: () => group,
    peerId: () => "peer",
    identifierOf: (id) => ({ kind: "communicationUser", communicationUserId: `user-of-${id}` }),
    participantIdOf: (ref) => String(ref),
  };
}

test("a group sender opens its route once, then frames go on the data channel", async () => {
  const p = port();
  const sender = new DataChannels(p, () => {}).createDataChannelSender(
    { channelId: 5, reliability: "durable", participants: ["p2"] });
  await sender.sendMessage(new Uint8Array([7]));
  await sender.sendMessage(new Uint8Array([8]));
  assert.deepEqual(p.requests.map(([type, f]) => [type, f.channelId, f.participantIds]),
    [["dataChannelSender", 5, ["p2"]]]);
  assert.deepEqual(p.sent.map((f) => [f.channelId, f.sequence, f.sender, [...f.payload]]),
    [[5, 1, "", [7]], [5, 2, "", [8]]]);
  await sender.close();
  await assert.rejects(sender.sendMessage(new Uint8Array([9])), { code: "SenderClosed" });
});

test("size, bitrate and a refused route are ACS-shaped errors", async () => {
  const channels = new DataChannels(port(), () => {});
  const big = channels.createDataChannelSender({ channelId: 1 });
  await assert.rejects(big.sendMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1)), { code: "MessageSizeExceeded" });
  const slow = channels.createDataChannelSender({ channelId: 2, bitrateInKbps: 1 });
  await slow.sendMessage(new Uint8Array(100));
  await assert.rejects(slow.sendMessage(new Uint8Array(100)), { code: "BitrateExceeded" });
  await assert.rejects(channels.createDataChannelSender({ channelId: 99 }).sendMessage(new Uint8Array(1)),
    { code: "Forbidden" });
  assert.throws(() => channels.createDataChannelSender({ channelId: 4096 }), { code: "InvalidChannelId" });
});

test("without SCTP the message goes over the signaling relay, base64", async () => {
  const p = port({ group: false, open: false });
  await new DataChannels(p, () => {}).createDataChannelSender({ channelId: 3 })
    .sendMessage(new TextEncoder().encode("hi"));
  assert.deepEqual(p.requests, [["dataChannel",
    { data: btoa("hi"), participantIds: undefined, channelId: 3, sequenceNumber: 1 }]]);
});

test("one receiver per sender and channel, named by the node or (1:1) the peer", () => {
  const created = [];
  const channels = new DataChannels(port(), (r) => created.push(r));
  const read = [];
  channels.frame({ channelId: 1, sequence: 1, sender: "p2", payload: new Uint8Array([1]) });
  created[0].on("messageReady", () => read.push(created[0].readMessage()));
  channels.frame({ channelId: 1, sequence: 2, sender: "p2", payload: new Uint8Array([2]) });
  channels.frame({ channelId: 1, sequence: 1, sender: "", payload: new Uint8Array([3]) });
  channels.relayed("p2", 9, 4, btoa("x"));
  assert.deepEqual(created.map((r) => [r.senderParticipantIdentifier.communicationUserId, r.channelId]),
    [["user-of-p2", 1], ["user-of-peer", 1], ["user-of-p2", 9]]);
  // readMessage() gives the oldest unread: the first one (no listener yet), then the second.
  assert.deepEqual(read, [{ sequenceNumber: 1, data: new Uint8Array([1]) }]);
  assert.deepEqual(created[0].readMessage(), { sequenceNumber: 2, data: new Uint8Array([2]) });
  assert.equal(created[0].readMessage(), undefined);
});

test("closing a sender sends the close mark; its receiver emits close and is forgotten", async () => {
  const p = port();
  const sender = new DataChannels(p, () => {}).createDataChannelSender({ channelId: 5, reliability: "lossy" });
  await sender.sendMessage(new Uint8Array([1]));
  await sender.close();
  assert.deepEqual(p.sent.map((f) => [f.sequence, f.payload.length]), [[1, 1], [0, 0]]);
  assert.equal(p.requests.filter(([, f]) => f.closed).length, 0); // the node closes on the mark

  const created = [];
  const channels = new DataChannels(port(), (r) => created.push(r));
  channels.frame({ channelId: 5, sequence: 1, sender: "p2", payload: new Uint8Array([1]) });
  let closed = 0;
  created[0].on("close", () => closed++);
  channels.frame({ channelId: 5, sequence: 0, sender: "p2", payload: new Uint8Array(0) });
  channels.frame({ channelId: 5, sequence: 1, sender: "p2", payload: new Uint8Array([2]) });
  assert.equal(closed, 1);
  assert.equal(created.length, 2); // a new sender on the same channel: a new receiver
});
