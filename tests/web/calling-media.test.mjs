// The browser calling SDK's media objects without a browser: DeviceManager, LocalMedia (what
// a Room call opens before its role is known, the microphone switch), RemoteParticipant's
// screen-share stream, and the end-reason messages. Fake tracks, streams and mediaDevices.
import { test } from "node:test";
import assert from "node:assert/strict";

class FakeTrack {
  static next = 1;
  constructor(kind, deviceId = "default") {
    this.kind = kind;
    this.id = `t${FakeTrack.next++}`;
    this.deviceId = deviceId;
    this.enabled = true;
    this.stopped = false;
  }
  stop() {
    this.stopped = true;
  }
  addEventListener() {}
}

class FakeStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return [...this.tracks];
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === "video");
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === "audio");
  }
  getTrackById(id) {
    return this.tracks.find((t) => t.id === id) ?? null;
  }
  addTrack(track) {
    this.tracks.push(track);
  }
  removeTrack(track) {
    this.tracks = this.tracks.filter((t) => t !== track);
  }
}

const devices = [
  { kind: "videoinput", deviceId: "cam1", label: "Front camera" },
  { kind: "audioinput", deviceId: "default", label: "Default microphone" },
  { kind: "audioinput", deviceId: "mic2", label: "Headset microphone" },
  { kind: "audiooutput", deviceId: "spk1", label: "Speakers" },
];
const gum = [];
const listeners = {};
globalThis.MediaStream = FakeStream;
Object.defineProperty(globalThis, "navigator", {
  configurable: true,
  value: {
    mediaDevices: {
      async getUserMedia(constraints) {
        gum.push(constraints);
        const tracks = [];
        if (constraints.audio) tracks.push(new FakeTrack("audio", constraints.audio.deviceId?.exact));
        if (constraints.video) tracks.push(new FakeTrack("video", constraints.video.deviceId?.exact));
        return new FakeStream(tracks);
      },
      async enumerateDevices() {
        return devices.map((d) => ({ ...d }));
      },
      addEventListener(name, handler) {
        listeners[name] = handler;
      },
    },
  },
});

const { DeviceManager, LocalVideoStream } = await import("../../src/switchboard/web/calling-media.js");
const { LocalMedia } = await import("../../src/switchboard/web/calling-local.js");
const { RemoteParticipant } = await import("../../src/switchboard/web/calling-participant.js");
const { endReasonMessage } = await import("../../src/switchboard/web/calling-end-reasons.js");

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A fake RTCPeerConnection's transceivers: replaceTrack recorded, no renegotiation. */
function fakePc() {
  const transceivers = [];
  return {
    transceivers,
    renegotiations: 0,
    addTransceiver(trackOrKind, init) {
      const sender = {
        track: typeof trackOrKind === "string" ? null : trackOrKind,
        replaced: [],
        async replaceTrack(track) {
          this.track = track;
          this.replaced.push(track);
        },
      };
      const transceiver = { sender, direction: init.direction, mid: String(transceivers.length) };
      transceivers.push(transceiver);
      return transceiver;
    },
  };
}

test("DeviceManager lists cameras, microphones and speakers as ACS names them", async () => {
  const manager = new DeviceManager();
  assert.deepEqual(await manager.getCameras(), [
    { id: "cam1", name: "Front camera", deviceType: "Camera", isSystemDefault: false },
  ]);
  assert.deepEqual((await manager.getMicrophones()).map((d) => d.deviceType), ["Microphone", "Microphone"]);
  assert.deepEqual((await manager.getSpeakers()).map((d) => d.name), ["Speakers"]);
});

test("selecting a microphone says so once, and a devicechange tells what was plugged in", async () => {
  const manager = new DeviceManager();
  const said = [];
  manager.on("selectedMicrophoneChanged", () => said.push(manager.selectedMicrophone?.id));
  manager.on("audioDevicesUpdated", ({ added, removed }) =>
    said.push(`+${added.map((d) => d.id)} -${removed.map((d) => d.id)}`));
  const [, headset] = await manager.getMicrophones();
  await manager.selectMicrophone(headset);
  await manager.selectMicrophone(headset);
  devices.push({ kind: "audioinput", deviceId: "usb", label: "USB microphone" });
  listeners.devicechange();
  await settle();
  await settle();
  devices.pop();
  assert.deepEqual(said, ["mic2", "+usb -"]);
});

test("a Room call opens no microphone or camera until its role may send; a Consumer never", async () => {
  const manager = new DeviceManager();
  gum.length = 0;
  const consumer = new LocalMedia(manager);
  const camera = new LocalVideoStream();
  const pc = fakePc();
  assert.equal(await consumer.open(false, camera, true), null);
  consumer.addTransceivers(pc, null);
  await consumer.publish(false); // the server said: Consumer
  assert.equal(gum.length, 0, "a Consumer's SDK asked for a device");
  assert.equal(pc.transceivers[0].sender.track, null);

  const presenter = new LocalMedia(manager);
  const pc2 = fakePc();
  await presenter.open(true, new LocalVideoStream(), true);
  presenter.addTransceivers(pc2, null);
  assert.equal(gum.length, 0);
  await presenter.publish(true); // the server said: Presenter
  assert.deepEqual(gum.map((c) => Object.keys(c)[0]), ["audio", "video"]);
  assert.equal(pc2.transceivers[0].sender.track.kind, "audio");
  assert.equal(pc2.transceivers[0].sender.track.enabled, false, "joined muted, stays muted");
  assert.equal(pc2.transceivers[1].sender.track.kind, "video");
});

test("choosing another microphone mid-call replaces the sent track (no renegotiation)", async () => {
  const manager = new DeviceManager();
  const local = new LocalMedia(manager);
  const pc = fakePc();
  await local.open(false, undefined);
  local.addTransceivers(pc, null);
  const first = local.microphone;
  first.enabled = false; // muted
  const [, headset] = await manager.getMicrophones();
  await manager.selectMicrophone(headset);
  await settle();
  await settle();
  const sender = pc.transceivers[0].sender;
  assert.equal(sender.track.deviceId, "mic2");
  assert.equal(sender.track.enabled, false, "the mute carries over");
  assert.ok(first.stopped);
  assert.equal(pc.renegotiations, 0);
  local.close();
});

test("a remote participant's shared screen is a second RemoteVideoStream beside its camera", () => {
  const wire = { participantId: "p1", identifier: { rawId: "8:acs:b" }, state: "Connected", displayName: "Bob" };
  const bob = new RemoteParticipant(wire);
  assert.equal(bob.displayName, "Bob");
  assert.deepEqual(bob.videoStreams.map((s) => s.mediaStreamType), ["Video"]);
  const updates = [];
  bob.on("videoStreamsUpdated", ({ added }) => updates.push(added.map((s) => s.mediaStreamType)));
  bob._update({ ...wire, screenShareOn: true });
  assert.deepEqual(updates, [["ScreenSharing"]]);
  const screen = bob.videoStreams[1];
  assert.equal(screen.isAvailable, false, "no track yet");
  const availability = [];
  screen.on("isAvailableChanged", () => availability.push(screen.isAvailable));
  bob._screen(new FakeTrack("video"));
  bob._update({ ...wire, screenShareOn: false });
  bob._update({ ...wire, screenShareOn: true });
  assert.deepEqual(availability, [true, false, true]);
  assert.equal(bob.videoStreams.length, 2, "the stream is kept between shares");
});

test("end reasons read as people say them, with the other side's name when known", () => {
  assert.equal(endReasonMessage({ code: 486, subCode: 0 }, { name: "Bob" }), "Bob is busy.");
  assert.equal(endReasonMessage({ code: 603, subCode: 0 }), "The call was declined.");
  assert.equal(endReasonMessage({ code: 403, subCode: 0 }, { when: "NotFound" }), "That room does not exist.");
  assert.equal(endReasonMessage({ code: 403, subCode: 5854 }), "The meeting organiser did not admit you.");
  assert.equal(endReasonMessage({ code: 487, subCode: 10004 }), "Nobody answered.");
  assert.equal(endReasonMessage({ code: 9999, subCode: 1 }), "The call ended.");
});
