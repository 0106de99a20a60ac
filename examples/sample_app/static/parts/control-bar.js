// The call's control bar: microphone, camera, screen share, devices, people, leave. Buttons
// say what they do and carry aria-pressed; a Consumer's media buttons are disabled. Screen
// sharing appears when the SDK has ACS's startScreenSharing (feature-checked).

import { $, announce } from "./elements.js";

export class ControlBar {
  #call;
  #devices;
  #cleanups = [];

  /**
   * @param {any} call @param {import("./device-setup.js").DeviceSetup} devices
   * @param {() => void} onLeave  told before this page hangs up (the end screen says "You left")
   */
  constructor(call, devices, onLeave) {
    this.#call = call;
    this.#devices = devices;
    const canShare = typeof call.startScreenSharing === "function";
    $("share-screen").hidden = !canShare;
    $("mute").onclick = () => this.#run(() => (call.isMuted ? call.unmute() : call.mute()));
    $("camera").onclick = () => this.#run(() => this.toggleCamera());
    $("share-screen").onclick = () =>
      this.#run(() => (call.isScreenSharingOn ? call.stopScreenSharing() : call.startScreenSharing()));
    $("hang-up").onclick = () => {
      onLeave();
      this.#run(() => call.hangUp());
    };
    $("devices").onclick = () => this.showDevices($("device-panel").hidden);
    const show = () => this.render();
    for (const name of ["isMutedChanged", "localVideoStreamsUpdated", "roleChanged",
      "stateChanged", "isScreenSharingOnChanged"]) {
      call.on(name, show);
      this.#cleanups.push(() => call.off?.(name, show));
    }
    this.render();
  }

  async toggleCamera() {
    const call = this.#call;
    const sending = call.localVideoStreams.find((s) => s.mediaStreamType !== "ScreenSharing");
    if (sending) {
      await call.stopVideo(sending);
      await this.#devices.setCameraOn(false);
      announce("Your camera is off");
    } else {
      await this.#devices.setCameraOn(true);
      if (this.#devices.camera) await call.startVideo(this.#devices.camera);
      announce("Your camera is on");
    }
    this.render();
  }

  /** The pre-join screen's pickers move into the call's device panel while it is open. */
  showDevices(on) {
    $("device-panel").hidden = !on;
    $("devices").setAttribute("aria-expanded", String(on));
    const pickers = document.querySelector(".pickers");
    if (on) $("device-panel-slot").append(pickers);
    else $("prejoin").querySelector(".toggles").after(pickers);
  }

  render() {
    const call = this.#call;
    const live = call.state !== "Disconnected" && call.state !== "None";
    const consumer = call.role === "Consumer";
    const mute = $("mute");
    mute.disabled = !live || consumer;
    mute.textContent = call.isMuted ? "Unmute" : "Mute";
    mute.setAttribute("aria-pressed", String(Boolean(call.isMuted)));
    const cameraOn = call.localVideoStreams.some((s) => s.mediaStreamType !== "ScreenSharing");
    const camera = $("camera");
    camera.disabled = !live || consumer;
    camera.textContent = cameraOn ? "Turn camera off" : "Turn camera on";
    camera.setAttribute("aria-pressed", String(cameraOn));
    const share = $("share-screen");
    share.disabled = !live || consumer || call.state !== "Connected";
    share.textContent = call.isScreenSharingOn ? "Stop sharing" : "Share screen";
    share.setAttribute("aria-pressed", String(Boolean(call.isScreenSharingOn)));
    $("hang-up").disabled = !live;
  }

  dispose() {
    this.#cleanups.forEach((off) => off());
    this.showDevices(false);
    for (const id of ["mute", "camera", "share-screen", "hang-up"]) $(id).disabled = true;
    $("mute").textContent = "Mute";
  }

  async #run(action) {
    try {
      await action();
    } catch (error) {
      announce(String(error.message ?? error));
      $("status").textContent = String(error.message ?? error);
    }
  }
}
