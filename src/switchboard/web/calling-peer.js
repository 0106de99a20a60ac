// The media side of a Call: one RTCPeerConnection (Unified Plan, one BUNDLE) and the order in
// which remote descriptions, candidates and our own offers touch it.
//
//   remote sdp / candidate ─┐
//   our renegotiation ──────┴─▶ one promise chain ─▶ RTCPeerConnection
//   server offer ─▶ setRemoteDescription ─▶ answer ─▶ `sdp {to}` request
//   our offer ─▶ `sdp` request ─ refused (InvalidCallState: the server's own offer is on its
//     way, "glare") ─▶ roll back, answer the server's offer when it arrives, then offer again
//
// In a group call the SFU adds one sendonly m-line per stream we receive and says whose media
// each carries (`streams`: mid → participantId, and whether it is a shared screen);
// `trackOf(participantId, kind, screen)` finds the track behind it. Remote audio plays by
// itself, one <audio> per received track (as ACS), on the DeviceManager's selected speaker.

import { report } from "./ws-session.js";
import { DataLinks } from "./calling-datachannel.js";

/**
 * @typedef {import("./calling-media.js").DeviceManager} DeviceManager
 * @typedef {{ mid: string, kind: "audio" | "video", participantId: string | null,
 *   screenShare?: boolean }} StreamOwner
 *   One of the SFU's m-lines towards us, and whose media it carries (null: an idle slot;
 *   `screenShare`: the participant's shared screen, not its camera).
 * @typedef {{ type: RTCSdpType, sdp: string }} Description
 *
 * @typedef {object} PeerHooks
 * @property {(candidate: object) => void} candidate  One of our ICE candidates (or "": the end).
 * @property {(description: Description) => Promise<unknown>} send  Send our description
 *   (rejects with a SignalingError if the server refuses it).
 * @property {() => void} tracksChanged  Remote tracks or their owners changed.
 * @property {(state: RTCIceConnectionState) => void} [iceState]  ICE's state changed.
 */

/** The refusal a client offer gets while the server's own offer awaits our answer. */
const GLARE = "InvalidCallState";

export class CallPeer {
  /** @type {StreamOwner[]} */
  streams = [];
  /** The last remote video track to arrive (a 1:1 call has one). @type {MediaStreamTrack | null} */
  lastVideo = null;
  #hooks;
  #chain = Promise.resolve();
  /** @type {Map<string, HTMLAudioElement>} by track id */
  #audio = new Map();
  #offerWanted = false;
  #closed = false;
  #devices;

  /** @param {RTCIceServer[]} iceServers @param {DeviceManager} devices @param {PeerHooks} hooks */
  constructor(iceServers, devices, hooks) {
    this.#hooks = hooks;
    this.#devices = devices;
    devices.on("selectedSpeakerChanged", this.#toSpeaker);
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate === "") return; // ends below (null)
      hooks.candidate(event.candidate ? event.candidate.toJSON() : { candidate: "" });
    };
    this.pc.ontrack = (event) => this.#onTrack(event.track);
    this.pc.oniceconnectionstatechange = () => hooks.iceState?.(this.pc.iceConnectionState);
    // Before the first offer, so that it carries the data m-line (calling-datachannel.js).
    this.data = new DataLinks(this.pc);
  }

  /** Our description after setLocalDescription(). @returns {Description} */
  local() {
    const description = /** @type {RTCSessionDescription} */ (this.pc.localDescription);
    return { type: description.type, sdp: description.sdp };
  }

  /**
   * Apply a remote description (answer offers), in order with everything else.
   * @param {RTCSessionDescriptionInit} description
   * @param {StreamOwner[]} [streams]  The SFU's mid → participant map (group calls).
   * @param {() => Promise<unknown>} [beforeAnswer]  Runs between an offer and our answer
   *   (a new peer connection puts our tracks on the offer's transceivers).
   */
  remoteDescription(description, streams, beforeAnswer) {
    this.#inOrder(async () => {
      if (streams) this.streams = streams;
      await this.pc.setRemoteDescription(description);
      if (description.type === "offer") {
        await beforeAnswer?.();
        await this.pc.setLocalDescription();
        await this.#hooks.send(this.local());
        if (this.#offerWanted) await this.#offer();
      }
      this.#hooks.tracksChanged();
    });
  }

  /**
   * Whether `offer` comes from another peer connection than the one we talk to (its DTLS
   * fingerprint differs: the other side's page reloaded and offers from a new one).
   * @param {RTCSessionDescriptionInit} offer
   */
  isFromNewPeer(offer) {
    const current = this.pc.remoteDescription?.sdp;
    if (!current || offer.type !== "offer") return false;
    return fingerprintOf(current) !== fingerprintOf(offer.sdp ?? "");
  }

  /** @param {RTCIceCandidateInit} candidate */
  candidate(candidate) {
    this.#inOrder(() => this.pc.addIceCandidate(candidate));
  }

  /** Offer our current transceivers to the other side (after adding one). */
  renegotiate() {
    return this.#inOrder(() => this.#offer());
  }

  /**
   * Restart ICE (calling-recovery.js decides when): new ICE credentials and candidates in a
   * new offer; DTLS, SRTP and the tracks stay. Skipped while an offer awaits its answer
   * (that answer comes, however late: signaling replays it).
   */
  restartIce() {
    return this.#inOrder(async () => {
      if (this.pc.signalingState !== "stable") return;
      this.pc.restartIce();
      await this.#offer();
    });
  }

  /**
   * The remote track carrying `participantId`'s `kind` media (its camera, or with `screen`
   * its shared screen), if the SFU sends it to us.
   * @param {string} participantId @param {"audio" | "video"} kind @param {boolean} [screen]
   */
  trackOf(participantId, kind, screen = false) {
    const owned = this.streams.find(
      (s) => s.participantId === participantId && s.kind === kind && Boolean(s.screenShare) === screen,
    );
    if (!owned) return null;
    const transceiver = this.pc.getTransceivers().find((t) => t.mid === owned.mid);
    return transceiver ? transceiver.receiver.track : null;
  }

  /**
   * 1:1: the first remote video track on an m-line `wanted(mid)` accepts that the other
   * side sends on (its camera, or the screen it shares).
   * @param {(mid: string) => boolean} wanted
   */
  videoTrack(wanted) {
    for (const transceiver of this.pc.getTransceivers()) {
      const { mid, receiver, currentDirection } = transceiver;
      if (mid === null || receiver.track.kind !== "video" || !wanted(mid)) continue;
      if (currentDirection === "sendrecv" || currentDirection === "recvonly") return receiver.track;
    }
    return null;
  }

  close() {
    this.#devices.off("selectedSpeakerChanged", this.#toSpeaker);
    this.#closed = true;
    this.pc.close();
    for (const audio of this.#audio.values()) audio.pause();
    this.#audio.clear();
  }

  async #offer() {
    this.#offerWanted = false;
    await this.pc.setLocalDescription();
    try {
      await this.#hooks.send(this.local());
    } catch (error) {
      if (/** @type {{ code?: string }} */ (error).code !== GLARE) throw error;
      // The server offered first: its offer is queued behind this step. Answer it, then
      // offer again (remoteDescription() does, seeing #offerWanted).
      await this.pc.setLocalDescription({ type: "rollback" });
      this.#offerWanted = true;
    }
  }

  /** Every remote audio to the selected speaker. */
  #toSpeaker = () => {
    for (const audio of this.#audio.values()) this.#sink(audio);
  };

  /** @param {HTMLAudioElement} audio */
  #sink(audio) {
    const id = this.#devices.selectedSpeaker?.id;
    if (id === undefined || !("setSinkId" in audio)) return;
    /** @type {HTMLAudioElement & { setSinkId(id: string): Promise<void> }} */ (audio)
      .setSinkId(id)
      .catch(report);
  }

  /** @param {() => Promise<void>} step */
  #inOrder(step) {
    const run = async () => {
      if (!this.#closed) await step();
    };
    this.#chain = this.#chain.then(run).catch(report);
    return this.#chain;
  }

  /** @param {MediaStreamTrack} track */
  #onTrack(track) {
    if (track.kind === "audio") {
      const audio = new Audio();
      audio.autoplay = true;
      audio.srcObject = new MediaStream([track]);
      this.#sink(audio);
      audio.play().catch(() => {}); // autoplay may wait for a user gesture
      this.#audio.set(track.id, audio);
      track.addEventListener("ended", () => {
        this.#audio.get(track.id)?.pause();
        this.#audio.delete(track.id);
      });
    } else {
      this.lastVideo = track;
    }
    this.#hooks.tracksChanged();
  }
}

/** The first `a=fingerprint` of a description. @param {string} sdp */
function fingerprintOf(sdp) {
  return /^a=fingerprint:(.+)$/m.exec(sdp)?.[1]?.trim() ?? "";
}
