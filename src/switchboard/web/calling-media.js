// Media objects of the browser calling SDK, named as in ACS's calling SDK: DeviceManager,
// LocalVideoStream, RemoteVideoStream, VideoStreamRenderer. Plain MediaStreams underneath.

import { Emitter } from "./ws-session.js";

/**
 * @typedef {{ id: string, name: string, deviceType: "Camera" | "Microphone" | "Speaker" }}
 *   DeviceInfo  ACS's VideoDeviceInfo / AudioDeviceInfo.
 * @typedef {{ audio?: boolean, video?: boolean }} PermissionConstraints
 * @typedef {{ isAvailableChanged: void }} RemoteVideoStreamEvents
 * @typedef {{ scalingMode?: "Stretch" | "Crop" | "Fit", isMirrored?: boolean }} CreateViewOptions
 */

/** Cameras and microphones (getUserMedia/enumerateDevices), and the microphone calls use. */
export class DeviceManager {
  /** @type {DeviceInfo | undefined} */
  selectedMicrophone = undefined;

  /** @returns {Promise<DeviceInfo[]>} */
  async getCameras() {
    return listDevices("videoinput", "Camera");
  }

  /** @returns {Promise<DeviceInfo[]>} */
  async getMicrophones() {
    return listDevices("audioinput", "Microphone");
  }

  /** @param {DeviceInfo} microphone */
  async selectMicrophone(microphone) {
    this.selectedMicrophone = microphone;
  }

  /**
   * Ask the user for access (the browser's prompt); says what was granted.
   * @param {PermissionConstraints} constraints
   * @returns {Promise<{ audio: boolean, video: boolean }>}
   */
  async askDevicePermission(constraints) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const kinds = new Set(stream.getTracks().map((track) => track.kind));
      stream.getTracks().forEach((track) => track.stop());
      return { audio: kinds.has("audio"), video: kinds.has("video") };
    } catch {
      return { audio: false, video: false };
    }
  }

  /** A microphone track for a call (the selected microphone, else the default). @internal */
  async _microphone() {
    const deviceId = this.selectedMicrophone?.id;
    const audio = deviceId ? { deviceId: { exact: deviceId } } : true;
    const stream = await navigator.mediaDevices.getUserMedia({ audio });
    return stream.getAudioTracks()[0];
  }
}

/** @param {MediaDeviceKind} kind @param {DeviceInfo["deviceType"]} deviceType */
async function listDevices(kind, deviceType) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices
    .filter((device) => device.kind === kind)
    .map((device, i) => ({
      id: device.deviceId,
      name: device.label || `${deviceType} ${i + 1}`,
      deviceType,
    }));
}

/**
 * The local camera (or any MediaStream with a video track: ACS's "custom video") to send.
 * The camera is opened on first use and closed by `dispose()`.
 */
export class LocalVideoStream {
  mediaStreamType = /** @type {const} */ ("Video");
  /** @type {DeviceInfo | MediaStream | undefined} */
  #source;
  /** @type {Promise<MediaStream> | null} */
  #stream = null;
  /** @internal Calls sending this stream, told when the camera changes. @type {Set<() => void>} */
  _sourceListeners = new Set();

  /** @param {DeviceInfo | MediaStream} [source] a camera from DeviceManager, or a stream */
  constructor(source) {
    this.#source = source;
  }

  get source() {
    return this.#source;
  }

  /** @returns {Promise<MediaStream>} */
  getMediaStream() {
    if (this.#stream === null) {
      const source = this.#source;
      if (source instanceof MediaStream) {
        this.#stream = Promise.resolve(source);
      } else {
        const video = source ? { deviceId: { exact: source.id } } : true;
        this.#stream = navigator.mediaDevices.getUserMedia({ video });
      }
      this.#stream.catch(() => (this.#stream = null)); // let a later call ask again
    }
    return this.#stream;
  }

  /** Use another camera; a call sending this stream switches to it. @param {DeviceInfo} source */
  async switchSource(source) {
    this.dispose();
    this.#source = source;
    await this.getMediaStream();
    for (const listener of this._sourceListeners) listener();
  }


  /** Stop the camera (not a stream handed in by the app). */
  dispose() {
    const stream = this.#stream;
    this.#stream = null;
    if (stream && !(this.#source instanceof MediaStream)) {
      stream.then((s) => s.getTracks().forEach((track) => track.stop())).catch(() => {});
    }
  }
}

/**
 * A remote participant's video. `isAvailable` is true while the participant sends video.
 * @extends {Emitter<RemoteVideoStreamEvents>}
 */
export class RemoteVideoStream extends Emitter {
  static #nextId = 1;
  id = RemoteVideoStream.#nextId++;
  mediaStreamType = /** @type {const} */ ("Video");
  isAvailable = false;
  #stream = new MediaStream();

  /** @returns {Promise<MediaStream>} */
  async getMediaStream() {
    return this.#stream;
  }

  /** @internal @param {MediaStreamTrack | null} track @param {boolean} available */
  _update(track, available) {
    if (track && !this.#stream.getTrackById(track.id)) {
      this.#stream.getTracks().forEach((old) => this.#stream.removeTrack(old));
      this.#stream.addTrack(track);
    }
    const isAvailable = available && this.#stream.getVideoTracks().length > 0;
    if (isAvailable !== this.isAvailable) {
      this.isAvailable = isAvailable;
      this._emit("isAvailableChanged", undefined);
    }
  }
}

/** A `<video>` element showing a stream (ACS's VideoStreamRendererView). */
export class VideoStreamRendererView {
  /** @param {HTMLVideoElement} video */
  constructor(video) {
    this.target = video;
  }

  /** @param {CreateViewOptions["scalingMode"]} scalingMode */
  async updateScalingMode(scalingMode) {
    this.target.style.objectFit = fit(scalingMode);
  }

  dispose() {
    this.target.srcObject = null;
    this.target.remove();
  }
}

/** Renders a LocalVideoStream or RemoteVideoStream into views (`createView().target`). */
export class VideoStreamRenderer {
  #stream;
  /** @type {VideoStreamRendererView[]} */
  #views = [];

  /** @param {LocalVideoStream | RemoteVideoStream} stream */
  constructor(stream) {
    this.#stream = stream;
  }

  /**
   * @param {CreateViewOptions} [options]
   * @returns {Promise<VideoStreamRendererView>}
   */
  async createView(options = {}) {
    const video = document.createElement("video");
    video.autoplay = true;
    video.muted = true; // video only: a call plays remote audio itself
    video.playsInline = true;
    video.style.objectFit = fit(options.scalingMode);
    if (options.isMirrored) video.style.transform = "scaleX(-1)";
    video.srcObject = await this.#stream.getMediaStream();
    video.play().catch(() => {}); // autoplay may be refused until a user gesture
    const view = new VideoStreamRendererView(video);
    this.#views.push(view);
    return view;
  }

  dispose() {
    this.#views.forEach((view) => view.dispose());
    this.#views = [];
  }
}

/** @param {CreateViewOptions["scalingMode"]} mode */
function fit(mode) {
  return mode === "Stretch" ? "fill" : mode === "Fit" ? "contain" : "cover";
}
