// What a Call sends: the microphone, the camera (a LocalVideoStream), and the audio and video
// transceivers that carry them. `publishing` false (a Room's Consumer) leaves both senders
// without a track, so nothing is sent, whatever the SDP says; true puts them back.

import { report } from "./ws-session.js";

/**
 * @typedef {import("./calling-media.js").DeviceManager} DeviceManager
 * @typedef {import("./calling-media.js").LocalVideoStream} LocalVideoStream
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
  publishing = true;
  #devices;

  /** @param {DeviceManager} devices */
  constructor(devices) {
    this.#devices = devices;
  }

  /**
   * Open the microphone (disabled if `muted`) and the camera of `stream`, if any.
   * @param {boolean} muted @param {LocalVideoStream | undefined} stream
   * @returns {Promise<MediaStreamTrack | null>} the camera's track
   */
  async open(muted, stream) {
    this.microphone = await this.#devices._microphone();
    this.microphone.enabled = !muted;
    const video = stream ? (await stream.getMediaStream()).getVideoTracks()[0] ?? null : null;
    if (stream && video) this.#use([stream]);
    return video;
  }

  /** Our own transceivers (outgoing call, join). @param {RTCPeerConnection} pc @param {MediaStreamTrack | null} video */
  addTransceivers(pc, video) {
    this.audio = pc.addTransceiver(/** @type {MediaStreamTrack} */ (this.microphone), {
      direction: "sendrecv",
    });
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
    await this.audio?.sender.replaceTrack(on ? this.microphone : null);
    await this.video?.sender.replaceTrack(on ? await this.cameraTrack() : null);
  }

  /** Hold: silence and a still picture while `on` is false. @param {boolean} on @param {boolean} muted */
  enableSending(on, muted) {
    if (this.microphone) this.microphone.enabled = on && !muted;
    const video = this.video?.sender.track;
    if (video) video.enabled = on;
  }

  close() {
    this.microphone?.stop();
    this.streams.forEach((stream) => stream._sourceListeners.delete(this.#swapCamera));
  }

  /** @param {LocalVideoStream[]} streams */
  #use(streams) {
    this.streams.forEach((stream) => stream._sourceListeners.delete(this.#swapCamera));
    this.streams = streams;
    streams.forEach((stream) => stream._sourceListeners.add(this.#swapCamera));
  }

  /** A LocalVideoStream we send switched cameras: send the new one. */
  #swapCamera = () => {
    const sender = this.video?.sender;
    if (!sender || !this.publishing) return;
    this.cameraTrack()
      .then((track) => sender.replaceTrack(track))
      .catch(report);
  };
}
