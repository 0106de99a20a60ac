// The call's video area: one tile per person (video, or their initials when the camera is
// off), the dominant speaker highlighted, a grid or a speaker view (the speaker large, the
// others in a filmstrip; a 1:1 call shows the other person large and you small), and a stage
// for a shared screen, shown whole ("Fit", never cropped), with everyone in the filmstrip.
// Works from the SDK's Call alone: remoteParticipants (+ videoStreams, isVideoOn),
// dominantSpeakers, localVideoStreams.

import { $, h, initials, hueOf } from "./elements.js";

export class CallStage {
  #call;
  #ui;
  #renderers = new Map(); // stream → VideoStreamRenderer
  #screen = null; // the RemoteVideoStream on the screen stage
  #cleanups = [];
  speakerView = false;

  /**
   * @param {any} call
   * @param {{ nameOf(id: string): string, me: string, VideoStreamRenderer: any,
   *   startedWith: any }} ui  `startedWith`: the LocalVideoStream the call was given, if any
   */
  constructor(call, ui) {
    this.#call = call;
    this.#ui = ui;
    this.speakerView = !call.isConference;
    $("grid").replaceChildren();
    $("grid").classList.toggle("one-to-one", !call.isConference);
    $("screen-stage").replaceChildren();
    $("screen-stage").hidden = true;
    this.#localTile();
    call.remoteParticipants.forEach((p) => this.#remoteTile(p));
    this.#listen(call, "remoteParticipantsUpdated", ({ added, removed }) => {
      added.forEach((p) => this.#remoteTile(p));
      removed.forEach((p) => this.#removeTile(p));
      this.#layout();
    });
    const speakers = call.dominantSpeakers ?? call.feature?.("DominantSpeakers");
    if (speakers) {
      this.#listen(speakers, "dominantSpeakersChanged", () => {
        const first = speakers.participantIds?.[0];
        $("tile-me")?.classList.toggle("speaking", Boolean(first) && first === call.participantId);
        this.#layout();
      });
    }
    $("layout-toggle").onclick = () => this.setSpeakerView(!this.speakerView);
    this.#layout();
  }

  setSpeakerView(on) {
    this.speakerView = on;
    this.#layout();
  }

  dispose() {
    this.#cleanups.forEach((off) => off());
    this.#renderers.forEach((renderer) => renderer.dispose());
    this.#renderers.clear();
    $("grid").replaceChildren();
    $("screen-stage").replaceChildren();
    $("screen-stage").hidden = true;
  }

  #listen(emitter, name, handler) {
    emitter.on(name, handler);
    this.#cleanups.push(() => emitter.off?.(name, handler));
  }

  #tile(key, name, local) {
    const tile = h(
      "div",
      { class: `tile ${local ? "local" : "remote"}`, id: `tile-${key}`, "data-name": name,
        role: "group", "aria-label": local ? `${name} (you)` : name },
      h("div", { class: "video" }),
      h("div", { class: "avatar", "aria-hidden": "true" }, initials(name)),
      h(
        "span",
        { class: "label" },
        h("span", { class: "who" }, local ? `${name} (you)` : name),
        " ",
        h("span", { class: "muted", hidden: true }, "muted"),
      ),
    );
    tile.style.setProperty("--hue", hueOf(name));
    $("grid").append(tile);
    return tile;
  }

  #localTile() {
    const call = this.#call;
    const tile = this.#tile("me", this.#ui.me, true);
    const showMuted = () => (tile.querySelector(".muted").hidden = !call.isMuted);
    let changed = false; // the call said which streams it sends (localVideoStreamsUpdated)
    const showVideo = async (event) => {
      if (event?.added) changed = true;
      // The call's localVideoStreams fill in once its media is open: the camera the call was
      // started with (the pre-join's) is shown until then.
      const stream =
        call.localVideoStreams.find((s) => s.mediaStreamType !== "ScreenSharing") ??
        (changed ? undefined : this.#ui.startedWith);
      const old = tile._stream;
      if (old && old !== stream) this.#unrender(old, tile);
      tile._stream = stream;
      if (stream && call.role !== "Consumer") await this.#render(stream, tile, "Crop", true);
    };
    this.#listen(call, "isMutedChanged", showMuted);
    this.#listen(call, "localVideoStreamsUpdated", showVideo);
    this.#listen(call, "roleChanged", () => showVideo());
    showMuted();
    showVideo();
  }

  #remoteTile(participant) {
    const name = this.#ui.nameOf(participant.identifier.communicationUserId ?? participant.identifier.rawId);
    const tile = this.#tile(participant.participantId, name, false);
    const showMuted = () => (tile.querySelector(".muted").hidden = !participant.isMuted);
    this.#listen(participant, "isMutedChanged", showMuted);
    this.#listen(participant, "isSpeakingChanged", () => {
      tile.classList.toggle("speaking", participant.isSpeaking);
    });
    showMuted();
    const follow = (stream) => {
      const show = () => this.#showRemote(participant, stream, tile);
      this.#listen(stream, "isAvailableChanged", show);
      show();
    };
    participant.videoStreams.forEach(follow);
    this.#listen(participant, "videoStreamsUpdated", ({ added, removed }) => {
      added.forEach(follow);
      removed.forEach((stream) => {
        this.#unrender(stream, tile);
        if (this.#screen === stream) this.#clearScreen();
      });
    });
  }

  #removeTile(participant) {
    const tile = $(`tile-${participant.participantId}`);
    for (const stream of participant.videoStreams) {
      this.#unrender(stream, tile);
      if (this.#screen === stream) this.#clearScreen();
    }
    tile?.remove();
  }

  /** A remote stream: the screen share goes on the stage; a camera in its tile, if on. */
  async #showRemote(participant, stream, tile) {
    const screen = stream.mediaStreamType === "ScreenSharing";
    const on = stream.isAvailable; // false when the camera is off: the tile shows initials
    if (screen) {
      if (on) await this.#showScreen(stream, tile.dataset.name);
      else if (this.#screen === stream) this.#clearScreen();
      return;
    }
    if (on) await this.#render(stream, tile, "Crop", false);
    else this.#unrender(stream, tile);
  }

  async #render(stream, tile, scalingMode, mirrored) {
    if (this.#renderers.has(stream)) return;
    const renderer = new this.#ui.VideoStreamRenderer(stream);
    this.#renderers.set(stream, renderer);
    const view = await renderer.createView({ scalingMode, isMirrored: mirrored });
    if (this.#renderers.get(stream) !== renderer) return view.dispose(); // gone meanwhile
    tile.querySelector(".video").replaceChildren(view.target);
    tile.classList.add("video-on");
  }

  #unrender(stream, tile) {
    this.#renderers.get(stream)?.dispose();
    this.#renderers.delete(stream);
    tile?.classList.remove("video-on");
  }

  async #showScreen(stream, name) {
    if (this.#screen === stream) return;
    this.#clearScreen();
    this.#screen = stream;
    const renderer = new this.#ui.VideoStreamRenderer(stream);
    this.#renderers.set(stream, renderer);
    const view = await renderer.createView({ scalingMode: "Fit" });
    view.target.setAttribute("aria-label", `${name}'s screen`);
    $("screen-stage").replaceChildren(
      view.target,
      h("span", { class: "label" }, `${name} is presenting`),
    );
    $("screen-stage").hidden = false;
    this.#layout();
  }

  #clearScreen() {
    if (this.#screen) {
      this.#renderers.get(this.#screen)?.dispose();
      this.#renderers.delete(this.#screen);
    }
    this.#screen = null;
    $("screen-stage").replaceChildren();
    $("screen-stage").hidden = true;
    this.#layout();
  }

  /** Grid, speaker view (the featured tile large) or filmstrip (a screen on the stage). */
  #layout() {
    const grid = $("grid");
    const call = this.#call;
    const filmstrip = this.#screen !== null;
    const speaker = !filmstrip && this.speakerView;
    grid.classList.toggle("layout-filmstrip", filmstrip);
    grid.classList.toggle("layout-speaker", speaker);
    grid.classList.toggle("layout-grid", !filmstrip && !speaker);
    const toggle = $("layout-toggle");
    toggle.setAttribute("aria-pressed", String(this.speakerView));
    toggle.textContent = this.speakerView ? "Grid view" : "Speaker view";
    const dominant = (call.dominantSpeakers ?? call.feature?.("DominantSpeakers"))?.participantIds?.[0];
    const remotes = call.remoteParticipants;
    const featured =
      remotes.find((p) => p.participantId === dominant)?.participantId ??
      remotes[0]?.participantId;
    for (const tile of grid.children) {
      tile.classList.toggle("featured", speaker && tile.id === `tile-${featured}`);
    }
  }
}
