// What a Call sends: the microphone, the camera (a LocalVideoStream), the shared screen, and
// the transceivers that carry them. `publishing` false (a Room's Consumer) leaves every sender
// without a track, so nothing is sent, whatever the SDP says; true puts them back.
//
// A Room call opens nothing before the server says the role (`deferred`): its offer carries
// an audio and a video transceiver with no track, and `publish(true)` opens the microphone
// (and the camera it was asked for) once the role may send; a Consumer's are never opened.
// The screen has a transceiver of its own (sendonly, added on the first startScreenSharing,
// kept afterwards: inactive while not sharing), so the other side gets it as a separate
// stream beside the camera.

import { report } from "./ws-session.js";
import { LocalVideoStream } from "./calling-media.js";

/**
 * @typedef {import("./calling-media.js").DeviceManager} DeviceManager
 * @typedef {import("./calling-peer.js").CallPeer} CallPeer
 */

export class LocalMedia {
  /** @type {MediaStreamTrack | null} */
  microphone = null;
  /** @type {LocalVideoStream[]} */
  streams = [];
  /** @type {RTCRtpTransceiver | null} */
  audio = null;
  /** @type {RTCRtpTransceiver | null} */
  video = null;
  /** The shared screen's transceiver (once shared). @type {RTCRtpTransceiver | null} */
  screen = null;
  /** The shared screen while sharing. @type {LocalVideoStream | null} */
  screenStream = null;
  publishing = true;
  /** Nothing opened until the role is known (a Room call). */
  deferred = false;
  #muted = false;
  #devices;

  /** @param {DeviceManager} devices */
  constructor(devices) {
    this.#devices = devices;
    devices.on("selectedMicrophoneChanged", this.#swapMicrophone);
  }

  /**
   * Open the microphone (disabled if `muted`) and the camera of `stream`, if any; with
   * `defer` (a Room call) only remember them until `publish(true)`.
   * @param {boolean} muted @param {LocalVideoStream | undefined} stream @param {boolean} [defer]
   * @returns {Promise<MediaStreamTrack | null>} the camera's track
   */
  async open(muted, stream, defer = false) {
    this.#muted = muted;
    if (defer) {
      this.deferred = true;
      this.publishing = false;
      if (stream) this.#use([stream]);
      return null;
    }
    this.microphone = await this.#devices._microphone();
    this.microphone.enabled = !muted;
    const video = stream ? (await stream.getMediaStream()).getVideoTracks()[0] ?? null : null;
    if (stream && video) this.#use([stream]);
    return video;
  }

  /** The microphone's mute, kept for a microphone opened later. @param {boolean} muted */
  setMuted(muted) {
    this.#muted = muted;
  }

  /** Our own transceivers (outgoing call, join). @param {RTCPeerConnection} pc @param {MediaStreamTrack | null} video */
  addTransceivers(pc, video) {
    this.audio = pc.addTransceiver(this.microphone ?? "audio", { direction: "sendrecv" });
    this.video = pc.addTransceiver(video ?? "video", { direction: "sendrecv" });
  }

  /** The offer's transceivers (incoming call), after its setRemoteDescription. @param {RTCPeerConnection} pc */
  async adoptTransceivers(pc) {
    const video = await this.cameraTrack();
    for (const transceiver of pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      transceiver.direction = "sendrecv";
      if (kind === "audio") {
        this.audio = transceiver;
        await transceiver.sender.replaceTrack(this.microphone);
      }
      if (kind === "video") {
        this.video = transceiver;
        await transceiver.sender.replaceTrack(video);
      }
    }
    return video;
  }

  async cameraTrack() {
    const stream = this.streams[0];
    if (this.deferred && !this.publishing) return null; // not opened before the role is known
    return stream ? (await stream.getMediaStream()).getVideoTracks()[0] ?? null : null;
  }

  /**
   * Send `stream`'s camera (renegotiating through `peer` if the call has no video m-line).
   * @param {LocalVideoStream} stream @param {CallPeer | null} peer
   * @returns {Promise<LocalVideoStream[]>} the streams it replaces
   */
  async startVideo(stream, peer) {
    const track = (await stream.getMediaStream()).getVideoTracks()[0];
    if (!track) throw new TypeError("the LocalVideoStream has no video track");
    const removed = this.streams;
    this.#use([stream]);
    if (this.video === null) {
      // The call was set up without a video m-line (e.g. an audio-only offer): renegotiate.
      if (peer === null) throw new Error("the call has no media yet");
      this.video = peer.pc.addTransceiver(track, { direction: "sendrecv" });
      await peer.renegotiate();
    } else {
      this.video.direction = "sendrecv";
      await this.video.sender.replaceTrack(this.publishing ? track : null);
    }
    return removed;
  }

  /** @param {LocalVideoStream} [stream] @returns {Promise<LocalVideoStream[]>} the removed */
  async stopVideo(stream) {
    const removed = this.streams.filter((s) => !stream || s === stream);
    this.#use(this.streams.filter((s) => !removed.includes(s)));
    await this.video?.sender.replaceTrack(null);
    return removed;
  }

  /** Send our tracks, or none (a Consumer: the server would not forward them anyway). @param {boolean} on */
  async publish(on) {
    this.publishing = on;
    if (on && this.microphone === null && this.audio !== null) {
      // A Room call's role may send: open the microphone now (never for a Consumer).
      this.microphone = await this.#devices._microphone();
      this.microphone.enabled = !this.#muted;
    }
    await this.audio?.sender.replaceTrack(on ? this.microphone : null);
    await this.video?.sender.replaceTrack(on ? await this.cameraTrack() : null);
    if (this.screen) {
      const shared = this.screenStream ? await this.screenStream.getMediaStream() : null;
      await this.screen.sender.replaceTrack(on ? shared?.getVideoTracks()[0] ?? null : null);
    }
  }

  /**
   * Share `track` (a getDisplayMedia track) on the screen transceiver, added on first use;
   * the caller renegotiates (the m-line is new, or comes back from inactive).
   * @param {MediaStream} stream @param {RTCPeerConnection} pc
   * @returns {Promise<LocalVideoStream>} the stream now shared
   */
  async shareScreen(stream, pc) {
    const track = stream.getVideoTracks()[0];
    if (!track) throw new TypeError("the shared screen has no video track");
    track.contentHint = "detail"; // text stays sharp: resolution before frame rate
    if (this.screen === null) {
      this.screen = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    } else {
      this.screen.direction = "sendonly";
      await this.screen.sender.replaceTrack(track);
    }
    this.screenStream = LocalVideoStream._screen(stream);
    return this.screenStream;
  }

  /** Stop sharing: the screen's track ends, its m-line goes inactive (renegotiate). @returns {Promise<LocalVideoStream | null>} the stream no longer shared */
  async unshareScreen() {
    const shared = this.screenStream;
    this.screenStream = null;
    if (this.screen) {
      await this.screen.sender.replaceTrack(null);
      this.screen.direction = "inactive";
    }
    if (shared) (await shared.getMediaStream()).getTracks().forEach((track) => track.stop());
    return shared;
  }

  /** The mids of our screen-share m-lines (for `screenShareMids`). @returns {string[]} */
  screenMids() {
    return this.screen?.mid ? [this.screen.mid] : [];
  }

  /** Hold: silence and a still picture while `on` is false. @param {boolean} on @param {boolean} muted */
  enableSending(on, muted) {
    if (this.microphone) this.microphone.enabled = on && !muted;
    for (const sender of [this.video?.sender, this.screen?.sender]) {
      if (sender?.track) sender.track.enabled = on;
    }
  }

  close() {
    this.#devices.off("selectedMicrophoneChanged", this.#swapMicrophone);
    this.microphone?.stop();
    this.unshareScreen().catch(() => {});
    this.streams.forEach((stream) => stream._sourceListeners.delete(this.#swapCamera));
  }

  /** @param {LocalVideoStream[]} streams */
  #use(streams) {
    this.streams.forEach((stream) => stream._sourceListeners.delete(this.#swapCamera));
    this.streams = streams;
    streams.forEach((stream) => stream._sourceListeners.add(this.#swapCamera));
  }

  /** The user picked another microphone: send it instead (replaceTrack, no renegotiation). */
  #swapMicrophone = () => {
    const old = this.microphone;
    if (old === null) return; // not opened yet: the next open takes the selected one
    this.#devices
      ._microphone()
      .then(async (track) => {
        if (this.microphone !== old) return track.stop(); // closed or swapped meanwhile
        track.enabled = old.enabled;
        this.microphone = track;
        if (this.publishing) await this.audio?.sender.replaceTrack(track);
        old.stop();
      })
      .catch(report);
  };

  /** A LocalVideoStream we send switched cameras: send the new one. */
  #swapCamera = () => {
    const sender = this.video?.sender;
    if (!sender || !this.publishing) return;
    this.cameraTrack()
      .then((track) => sender.replaceTrack(track))
      .catch(report);
  };
}
