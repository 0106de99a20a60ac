// Media objects of the browser calling SDK, named as in ACS's calling SDK: DeviceManager,
// LocalVideoStream, RemoteVideoStream, VideoStreamRenderer. Plain MediaStreams underneath.

import { Emitter } from "./ws-session.js";

/**
 * @typedef {{ id: string, name: string, deviceType: "Camera" | "Microphone" | "Speaker",
 *   isSystemDefault?: boolean }} DeviceInfo  ACS's VideoDeviceInfo / AudioDeviceInfo.
 * @typedef {{ audio?: boolean, video?: boolean }} PermissionConstraints
 * @typedef {{ isAvailableChanged: void }} RemoteVideoStreamEvents
 * @typedef {{ scalingMode?: "Stretch" | "Crop" | "Fit", isMirrored?: boolean }} CreateViewOptions
 * @typedef {{ added: DeviceInfo[], removed: DeviceInfo[] }} DevicesUpdated
 * @typedef {{ videoDevicesUpdated: DevicesUpdated, audioDevicesUpdated: DevicesUpdated,
 *   selectedMicrophoneChanged: void, selectedSpeakerChanged: void }} DeviceManagerEvents
 * @typedef {"Video" | "ScreenSharing"} MediaStreamType
 */

/**
 * ACS's DeviceManager (`callClient.getDeviceManager()`): cameras, microphones and speakers
 * (enumerateDevices), the microphone and speaker calls use, and the browser's permission
 * prompt. Selecting a microphone mid-call swaps the track each call sends
 * (RTCRtpSender.replaceTrack: no renegotiation); selecting a speaker moves every call's
 * remote audio to it (HTMLMediaElement.setSinkId). Device lists are re-read on the
 * browser's `devicechange` and their differences told as `videoDevicesUpdated` /
 * `audioDevicesUpdated`.
 * @extends {Emitter<DeviceManagerEvents>}
 */
export class DeviceManager extends Emitter {
  /** @type {DeviceInfo | undefined} */
  selectedMicrophone = undefined;
  /** @type {DeviceInfo | undefined} */
  selectedSpeaker = undefined;
  /** Can remote audio be sent to a chosen speaker (setSinkId)? */
  isSpeakerSelectionAvailable =
    typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
  /** @type {Map<string, DeviceInfo[]>} the last lists seen, by kind */
  #known = new Map();
  #watching = false;

  /** @returns {Promise<DeviceInfo[]>} */
  async getCameras() {
    return this.#list("videoinput");
  }

  /** @returns {Promise<DeviceInfo[]>} */
  async getMicrophones() {
    return this.#list("audioinput");
  }

  /** Audio outputs (empty where the browser does not list them). @returns {Promise<DeviceInfo[]>} */
  async getSpeakers() {
    return this.#list("audiooutput");
  }

  /** Calls send this microphone from now on (calls in progress switch to it). @param {DeviceInfo} microphone */
  async selectMicrophone(microphone) {
    if (this.selectedMicrophone?.id === microphone.id) return;
    this.selectedMicrophone = microphone;
    this._emit("selectedMicrophoneChanged", undefined);
  }

  /** Calls play remote audio on this speaker from now on. @param {DeviceInfo} speaker */
  async selectSpeaker(speaker) {
    if (!this.isSpeakerSelectionAvailable) {
      throw new Error("this browser cannot choose the speaker (no HTMLMediaElement.setSinkId)");
    }
    if (this.selectedSpeaker?.id === speaker.id) return;
    this.selectedSpeaker = speaker;
    this._emit("selectedSpeakerChanged", undefined);
  }

  /**
   * Ask the user for access (the browser's prompt); says what was granted. Device names
   * (labels) are listed only after a grant.
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

  /** @param {MediaDeviceKind} kind @returns {Promise<DeviceInfo[]>} */
  async #list(kind) {
    this.#watch();
    const devices = await listDevices(kind);
    this.#known.set(kind, devices);
    return devices;
  }

  /** Follow `devicechange` once anything was listed. */
  #watch() {
    if (this.#watching || !navigator.mediaDevices?.addEventListener) return;
    this.#watching = true;
    this.#rescan().catch(() => {}); // the lists changes are told against
    navigator.mediaDevices.addEventListener("devicechange", () => {
      this.#rescan().catch(() => {});
    });
  }

  async #rescan() {
    /** @type {[MediaDeviceKind, "videoDevicesUpdated" | "audioDevicesUpdated"][]} */
    const kinds = [
      ["videoinput", "videoDevicesUpdated"],
      ["audioinput", "audioDevicesUpdated"],
      ["audiooutput", "audioDevicesUpdated"],
    ];
    for (const [kind, event] of kinds) {
      const before = this.#known.get(kind);
      const now = await listDevices(kind);
      this.#known.set(kind, now);
      if (before === undefined) continue; // first sight: nothing to compare with
      const ids = (/** @type {DeviceInfo[]} */ list) => new Set(list.map((d) => d.id));
      const [had, has] = [ids(before), ids(now)];
      const added = now.filter((d) => !had.has(d.id));
      const removed = before.filter((d) => !has.has(d.id));
      if (added.length || removed.length) this._emit(event, { added, removed });
    }
  }
}

/** @type {Record<string, DeviceInfo["deviceType"]>} */
const DEVICE_TYPES = { videoinput: "Camera", audioinput: "Microphone", audiooutput: "Speaker" };

/** @param {MediaDeviceKind} kind @returns {Promise<DeviceInfo[]>} */
async function listDevices(kind) {
  const deviceType = DEVICE_TYPES[kind];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices
    .filter((device) => device.kind === kind && device.deviceId !== "communications")
    .map((device, i) => ({
      id: device.deviceId,
      name: device.label || `${deviceType} ${i + 1}`,
      deviceType,
      isSystemDefault: device.deviceId === "default",
    }));
}

/**
 * The local camera (or any MediaStream with a video track: ACS's "custom video") to send.
 * The camera is opened on first use and closed by `dispose()`.
 */
export class LocalVideoStream {
  /** "ScreenSharing" for the stream `call.startScreenSharing()` sends. @type {MediaStreamType} */
  mediaStreamType = "Video";
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

  /** @internal The screen (getDisplayMedia's stream) a call shares. @param {MediaStream} stream */
  static _screen(stream) {
    const screen = new LocalVideoStream(stream);
    screen.mediaStreamType = "ScreenSharing";
    return screen;
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
 * A remote participant's video: its camera ("Video") or its shared screen ("ScreenSharing").
 * `isAvailable` is true while the participant says it sends it (signaled, not guessed from
 * frames: a camera turned off shows as unavailable at once).
 * @extends {Emitter<RemoteVideoStreamEvents>}
 */
export class RemoteVideoStream extends Emitter {
  static #nextId = 1;
  id = RemoteVideoStream.#nextId++;
  isAvailable = false;
  #stream = new MediaStream();

  /** @param {MediaStreamType} [mediaStreamType] "Video" (the camera) or "ScreenSharing" */
  constructor(mediaStreamType = "Video") {
    super();
    /** @type {MediaStreamType} */
    this.mediaStreamType = mediaStreamType;
  }

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
    // A shared screen is shown whole unless the app asks otherwise (cropping cuts off text).
    const screen = this.#stream.mediaStreamType === "ScreenSharing";
    video.style.objectFit = fit(options.scalingMode ?? (screen ? "Fit" : "Crop"));
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
