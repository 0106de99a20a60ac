// The pre-join screen's devices: a camera preview (a LocalVideoStream the calls then send),
// a microphone level meter, pickers for camera, microphone and speaker, and on/off toggles.
// Opening the camera and microphone here, before any call, is what makes the first call of a
// fresh browser as quick as later ones: the call finds both devices already running.
// Choices are kept in localStorage. The SDK's DeviceManager is used where it has the method
// (selectSpeaker, getSpeakers may not exist yet): every call is feature-checked.

import { $, h, initials, hueOf } from "./elements.js";

const PREFS_KEY = "switchboard-meet.devices";

export class DeviceSetup {
  /** @type {any} LocalVideoStream, open while the camera is on */
  camera = null;
  cameraOn = true;
  micOn = true;
  /** Consumers never open a device. */
  consumer = false;
  #sdk;
  #deviceManager;
  #renderer = null;
  #meter = null; // { stream, context, frame }
  /** Told when the camera stream or its on/off state changes: (camera | null) => void */
  onCameraChanged = () => {};
  onMicChanged = () => {};

  /** @param {{ LocalVideoStream: any, VideoStreamRenderer: any }} sdk @param {any} deviceManager */
  constructor(sdk, deviceManager) {
    this.#sdk = sdk;
    this.#deviceManager = deviceManager;
    const prefs = this.#prefs();
    this.cameraOn = prefs.cameraOn ?? true;
    this.micOn = prefs.micOn ?? true;
    $("prejoin-camera").addEventListener("click", () => this.setCameraOn(!this.cameraOn));
    $("prejoin-mic").addEventListener("click", () => this.setMicOn(!this.micOn));
    $("camera-select").addEventListener("change", (e) => this.selectCamera(e.target.value));
    $("microphone-select").addEventListener("change", (e) => this.selectMicrophone(e.target.value));
    $("speaker-select").addEventListener("change", (e) => this.selectSpeaker(e.target.value));
  }

  /** Open what is switched on (in parallel), then list the devices (labels need permission). */
  async start(name) {
    const preview = $("preview");
    preview.dataset.name = name;
    preview.querySelector(".avatar").textContent = initials(name);
    preview.style.setProperty("--hue", hueOf(name));
    preview.querySelector(".who").textContent = `${name} (you)`;
    this.#showToggles();
    await Promise.allSettled([
      this.cameraOn ? this.#openCamera() : null,
      this.micOn ? this.#startMeter() : null,
    ]);
    await this.refreshLists();
    navigator.mediaDevices?.addEventListener?.("devicechange", () => this.refreshLists());
  }

  /** What a call is started with. */
  callOptions() {
    if (this.consumer) return {};
    const video = this.cameraOn && this.camera ? { localVideoStreams: [this.camera] } : undefined;
    return { videoOptions: video, audioOptions: { muted: !this.micOn } };
  }

  async refreshLists() {
    const dm = this.#deviceManager;
    const list = async (method, kind, label) => {
      if (typeof dm?.[method] === "function") return dm[method]();
      const all = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
      return all
        .filter((d) => d.kind === kind)
        .map((d, i) => ({ id: d.deviceId, name: d.label || `${label} ${i + 1}` }));
    };
    const [cameras, microphones, speakers] = await Promise.all([
      list("getCameras", "videoinput", "Camera"),
      list("getMicrophones", "audioinput", "Microphone"),
      list("getSpeakers", "audiooutput", "Speaker"),
    ]);
    const prefs = this.#prefs();
    fill($("camera-select"), cameras, prefs.cameraId, "No camera found");
    fill($("microphone-select"), microphones, prefs.microphoneId, "No microphone found");
    fill($("speaker-select"), speakers, prefs.speakerId, "Default speaker");
    this.devices = { cameras, microphones, speakers };
  }

  async setCameraOn(on) {
    if (this.consumer) on = false;
    this.cameraOn = on;
    this.#save({ cameraOn: on });
    this.#showToggles();
    if (on) await this.#openCamera();
    else this.#closeCamera();
    this.onCameraChanged(on ? this.camera : null);
  }

  async setMicOn(on) {
    this.micOn = on;
    this.#save({ micOn: on });
    this.#showToggles();
    if (on && !this.consumer) await this.#startMeter();
    else this.stopMeter();
    this.onMicChanged(on);
  }

  async selectCamera(id) {
    this.#save({ cameraId: id });
    const info = this.devices?.cameras.find((c) => c.id === id);
    if (!info || !this.camera) return;
    await this.camera.switchSource({ ...info, deviceType: "Camera" }); // calls sending it follow
    await this.#renderPreview();
  }

  async selectMicrophone(id) {
    this.#save({ microphoneId: id });
    const info = this.devices?.microphones.find((m) => m.id === id);
    if (info) await this.#deviceManager?.selectMicrophone?.({ ...info, deviceType: "Microphone" });
    if (this.#meter) {
      this.stopMeter();
      await this.#startMeter();
    }
  }

  async selectSpeaker(id) {
    this.#save({ speakerId: id });
    const info = this.devices?.speakers.find((s) => s.id === id);
    if (info && typeof this.#deviceManager?.selectSpeaker === "function") {
      await this.#deviceManager.selectSpeaker({ ...info, deviceType: "Speaker" });
      return;
    }
    for (const media of document.querySelectorAll("audio, video")) {
      await media.setSinkId?.(id).catch(() => {});
    }
  }

  /** A Room's Consumer watches and listens: its camera and microphone are closed. */
  setConsumer(consumer) {
    this.consumer = consumer;
    if (consumer) {
      this.#closeCamera();
      this.stopMeter();
    }
    this.#showToggles();
  }

  /** Back on the pre-join screen after a call: reopen what is switched on. */
  async resume() {
    this.consumer = false;
    this.#showToggles();
    if (this.cameraOn) await this.#openCamera();
    if (this.micOn) await this.#startMeter();
  }

  stopMeter() {
    const meter = this.#meter;
    this.#meter = null;
    if (!meter) return;
    cancelAnimationFrame(meter.frame);
    meter.stream.getTracks().forEach((track) => track.stop());
    meter.context.close().catch(() => {});
    $("mic-level").style.width = "0";
  }

  async #openCamera() {
    if (this.consumer) return;
    const prefs = this.#prefs();
    const source = this.devices?.cameras.find((c) => c.id === prefs.cameraId);
    this.camera ??= new this.#sdk.LocalVideoStream(
      source ? { ...source, deviceType: "Camera" } : undefined,
    );
    try {
      await this.camera.getMediaStream();
      await this.#renderPreview();
    } catch (error) {
      this.cameraOn = false;
      this.#showToggles();
      $("prejoin-hint").textContent = `The camera could not be opened (${error.name ?? error}).`;
    }
  }

  #closeCamera() {
    this.#renderer?.dispose();
    this.#renderer = null;
    this.camera?.dispose();
    this.camera = null;
    $("preview").classList.remove("video-on");
  }

  async #renderPreview() {
    this.#renderer?.dispose();
    if (!this.camera) return;
    this.#renderer = new this.#sdk.VideoStreamRenderer(this.camera);
    const view = await this.#renderer.createView({ scalingMode: "Crop", isMirrored: true });
    view.target.setAttribute("aria-label", "Your camera preview");
    $("preview").querySelector(".video").replaceChildren(view.target);
    $("preview").classList.add("video-on");
  }

  /** The level meter holds the microphone open: the call's own getUserMedia is then quick. */
  async #startMeter() {
    if (this.#meter || this.consumer || !navigator.mediaDevices) return;
    const id = this.#prefs().microphoneId;
    const stream = await navigator.mediaDevices
      .getUserMedia({ audio: id ? { deviceId: id } : true })
      .catch(() => null);
    if (!stream) return;
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 256;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Uint8Array(analyser.frequencyBinCount);
    const meter = { stream, context, frame: 0 };
    const draw = () => {
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (const s of samples) peak = Math.max(peak, Math.abs(s - 128));
      $("mic-level").style.width = `${Math.min(100, (peak / 64) * 100)}%`;
      meter.frame = requestAnimationFrame(draw);
    };
    draw();
    this.#meter = meter;
  }

  #showToggles() {
    const camera = $("prejoin-camera");
    const mic = $("prejoin-mic");
    camera.setAttribute("aria-pressed", String(this.cameraOn && !this.consumer));
    camera.textContent = this.cameraOn && !this.consumer ? "Camera on" : "Camera off";
    mic.setAttribute("aria-pressed", String(this.micOn && !this.consumer));
    mic.textContent = this.micOn && !this.consumer ? "Microphone on" : "Microphone off";
    camera.disabled = mic.disabled = this.consumer;
  }

  #prefs() {
    try {
      return JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}");
    } catch {
      return {};
    }
  }

  #save(change) {
    localStorage.setItem(PREFS_KEY, JSON.stringify({ ...this.#prefs(), ...change }));
  }
}

function fill(select, devices, chosen, emptyText) {
  select.replaceChildren(
    ...(devices.length
      ? devices.map((d) => h("option", { value: d.id, selected: d.id === chosen }, d.name))
      : [h("option", { value: "" }, emptyText)]),
  );
}
