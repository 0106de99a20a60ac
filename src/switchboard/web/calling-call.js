// `Call` and `RemoteParticipant` of the browser calling SDK (ACS's names and states).
//
//   outgoing: None ─▶ Connecting ─callUpdated Ringing─▶ Ringing ─answer, Connected─▶ Connected
//   incoming: Ringing ─accept()─▶ Connecting ─callUpdated Connected─▶ Connected
//   Connected ⇄ LocalHold (hold/resume) · Connected ⇄ RemoteHold (the other side holds)
//   hangUp() ─▶ Disconnecting ─callEnded─▶ Disconnected (callEndReason)
//
// Media: one RTCPeerConnection with the ICE servers of the register ack, an audio and a video
// transceiver (video may carry no track: startVideo() then only swaps the track in). Our ICE
// candidates trickle once the server knows our part in the call (after the startCall or accept
// ack); the remote side's SDP and candidates are applied in order on one promise chain, so a
// candidate never overtakes the description it belongs to.

import { Emitter, fromWire, report } from "./calling-events.js";
import { RemoteVideoStream } from "./calling-media.js";

/**
 * @typedef {import("./calling-events.js").CallEndReason} CallEndReason
 * @typedef {import("./calling-events.js").CommunicationUserIdentifier} CommunicationUserIdentifier
 * @typedef {import("./calling-events.js").WireIdentifier} WireIdentifier
 * @typedef {import("./calling-signaling.js").ServerFrame} ServerFrame
 * @typedef {import("./calling-signaling.js").AckHook} AckHook
 * @typedef {import("./calling-media.js").DeviceManager} DeviceManager
 * @typedef {import("./calling-media.js").LocalVideoStream} LocalVideoStream
 *
 * @typedef {"None" | "Connecting" | "Ringing" | "Connected" | "LocalHold" | "RemoteHold"
 *   | "Disconnecting" | "Disconnected"} CallState
 * @typedef {"Idle" | "Connecting" | "Ringing" | "Connected" | "Hold" | "Disconnected"}
 *   RemoteParticipantState
 * @typedef {{ participantId: string, identifier: WireIdentifier, state: RemoteParticipantState,
 *   isMuted?: boolean, videoOn?: boolean }} WireParticipant
 * @typedef {{ muted?: boolean }} AudioOptions
 * @typedef {{ localVideoStreams?: LocalVideoStream[] }} VideoOptions
 * @typedef {{ audioOptions?: AudioOptions, videoOptions?: VideoOptions }} CallOptions
 *
 * @typedef {{ stateChanged: void, isMutedChanged: void, isVideoOnChanged: void,
 *   videoStreamsUpdated: { added: RemoteVideoStream[], removed: RemoteVideoStream[] } }}
 *   RemoteParticipantEvents
 * @typedef {{ stateChanged: void, idChanged: void, isMutedChanged: void,
 *   localVideoStreamsUpdated: { added: LocalVideoStream[], removed: LocalVideoStream[] },
 *   remoteParticipantsUpdated: { added: RemoteParticipant[], removed: RemoteParticipant[] } }}
 *   CallEvents
 *
 * @typedef {object} CallPort  What a call needs from its agent.
 * @property {(type: string, fields: Record<string, unknown>, onAck?: AckHook)
 *   => Promise<ServerFrame>} request
 * @property {() => RTCIceServer[]} iceServers
 * @property {DeviceManager} devices
 * @property {(call: Call) => void} track  Route this call's frames to it (its id is known).
 * @property {(call: Call) => void} ended
 */

/** A local failure (no microphone, a refused request) before or while setting up the call. */
const SETUP_FAILED = 500;

/** @extends {Emitter<RemoteParticipantEvents>} */
export class RemoteParticipant extends Emitter {
  /** @type {string | undefined} The protocol carries no display names (yet). */
  displayName = undefined;
  /** @type {CallEndReason | undefined} */
  callEndReason = undefined;
  isMuted = false;
  isVideoOn = false;
  isSpeaking = false;
  /** One video stream; its `isAvailable` follows the participant's video. */
  videoStreams = [new RemoteVideoStream()];

  /** @param {WireParticipant} wire */
  constructor(wire) {
    super();
    /** @internal */
    this._participantId = wire.participantId;
    this.identifier = fromWire(wire.identifier);
    /** @type {RemoteParticipantState} */
    this.state = wire.state;
    this._update(wire);
  }

  /** @internal @param {WireParticipant} wire */
  _update(wire) {
    if (wire.state && wire.state !== this.state) {
      this.state = wire.state;
      this._emit("stateChanged", undefined);
    }
    if (Boolean(wire.isMuted) !== this.isMuted) {
      this.isMuted = Boolean(wire.isMuted);
      this._emit("isMutedChanged", undefined);
    }
    if (Boolean(wire.videoOn) !== this.isVideoOn) {
      this.isVideoOn = Boolean(wire.videoOn);
      this._emit("isVideoOnChanged", undefined);
    }
  }
}

/** @extends {Emitter<CallEvents>} */
export class Call extends Emitter {
  id = "";
  /** @type {CallState} */
  state = "None";
  /** @type {CallEndReason | undefined} */
  callEndReason = undefined;
  isMuted = false;
  /** @type {LocalVideoStream[]} */
  localVideoStreams = [];
  /** @type {RemoteParticipant[]} */
  remoteParticipants = [];
  #port;
  /** @type {RTCPeerConnection | null} */
  #pc = null;
  /** @type {MediaStreamTrack | null} */
  #microphone = null;
  /** @type {RTCRtpTransceiver | null} */
  #videoTransceiver = null;
  /** @type {MediaStreamTrack | null} */
  #remoteVideo = null;
  /** @type {HTMLAudioElement | null} */
  #remoteAudio = null;
  /** Remote SDP and candidates, applied in order. */
  #media = Promise.resolve();
  /** Our candidates, held until the server knows our part in the call. @type {object[] | null} */
  #heldCandidates = [];
  /** @type {RTCSessionDescriptionInit | null} */
  #offer;

  /**
   * @internal Made by CallAgent.startCall and by incoming calls.
   * @param {CallPort} port
   * @param {"Outgoing" | "Incoming"} direction
   * @param {{ id?: string, caller?: WireParticipant, offer?: RTCSessionDescriptionInit }} [init]
   */
  constructor(port, direction, init = {}) {
    super();
    this.#port = port;
    this.direction = direction;
    this.#offer = init.offer ?? null;
    if (init.id) this.id = init.id;
    if (init.caller) this.remoteParticipants = [new RemoteParticipant(init.caller)];
    if (direction === "Incoming") this.state = "Ringing";
  }

  /** The call's WebRTC statistics (inbound-rtp, outbound-rtp, candidate pairs …). */
  async getStats() {
    if (this.#pc === null) return /** @type {RTCStatsReport} */ (/** @type {unknown} */ (new Map()));
    return this.#pc.getStats();
  }

  /** The call's RTCPeerConnection, for diagnostics (null before media is set up). */
  get peerConnection() {
    return this.#pc;
  }

  async mute() {
    await this.#setMuted(true);
  }

  async unmute() {
    await this.#setMuted(false);
  }

  /** @param {LocalVideoStream} localVideoStream */
  async startVideo(localVideoStream) {
    const track = (await localVideoStream.getMediaStream()).getVideoTracks()[0];
    if (!track) throw new TypeError("the LocalVideoStream has no video track");
    const removed = this.localVideoStreams;
    removed.forEach((stream) => stream._sourceListeners.delete(this.#swapCamera));
    this.localVideoStreams = [localVideoStream];
    localVideoStream._sourceListeners.add(this.#swapCamera);
    await this.#sendVideo(track);
    this._emit("localVideoStreamsUpdated", { added: [localVideoStream], removed });
    await this.#mediaState({ videoOn: true });
  }

  /** @param {LocalVideoStream} [localVideoStream] */
  async stopVideo(localVideoStream) {
    const removed = this.localVideoStreams.filter((s) => !localVideoStream || s === localVideoStream);
    this.localVideoStreams = this.localVideoStreams.filter((s) => !removed.includes(s));
    removed.forEach((stream) => stream._sourceListeners.delete(this.#swapCamera));
    await this.#videoTransceiver?.sender.replaceTrack(null);
    this._emit("localVideoStreamsUpdated", { added: [], removed });
    await this.#mediaState({ videoOn: false });
  }

  async hold() {
    await this.#port.request("hold", { callId: this.id });
    this.#enableSending(false);
    this.#setState("LocalHold");
  }

  async resume() {
    await this.#port.request("resume", { callId: this.id });
    this.#enableSending(true);
    const remoteHold = this.remoteParticipants.some((p) => p.state === "Hold");
    this.#setState(remoteHold ? "RemoteHold" : "Connected");
  }

  async hangUp() {
    if (this.state === "Disconnected" || this.state === "Disconnecting") return;
    this.#setState("Disconnecting");
    try {
      if (!this.id) throw new Error("the call was never placed");
      await this.#port.request("hangUp", { callId: this.id });
    } catch {
      // Already over on the server (or never placed): end it here.
      this._end({ code: 0, subCode: 0, phrase: "Call ended by the local participant." });
    }
  }

  // ---- set-up (CallAgent and IncomingCall) ---------------------------------------------------

  /** @internal @param {CommunicationUserIdentifier} target @param {CallOptions} options */
  async _place(target, options) {
    this.#setState("Connecting");
    try {
      const video = await this.#openMedia(options);
      const pc = /** @type {RTCPeerConnection} */ (this.#pc);
      pc.addTransceiver(/** @type {MediaStreamTrack} */ (this.#microphone), {
        direction: "sendrecv",
      });
      this.#videoTransceiver = pc.addTransceiver(video ?? "video", { direction: "sendrecv" });
      await pc.setLocalDescription();
      const offer = /** @type {RTCSessionDescription} */ (pc.localDescription);
      const id = target.communicationUserId;
      await this.#port.request(
        "startCall",
        {
          targets: [{ rawId: id, communicationUser: { id } }],
          description: { type: offer.type, sdp: offer.sdp },
          media: { audio: true, video: video !== null },
        },
        (ack) => this.#placed(String(ack.callId)),
      );
      this.#afterAck();
    } catch (error) {
      this.#failed(error);
    }
  }

  /** @internal @param {CallOptions} options */
  async _accept(options) {
    if (this.state !== "Ringing" || this.direction !== "Incoming" || this.#offer === null) {
      throw new Error(`only a ringing incoming call can be accepted (it is ${this.state})`);
    }
    this.#setState("Connecting");
    try {
      const video = await this.#openMedia(options);
      const pc = /** @type {RTCPeerConnection} */ (this.#pc);
      await pc.setRemoteDescription(this.#offer);
      for (const transceiver of pc.getTransceivers()) {
        const kind = transceiver.receiver.track.kind;
        transceiver.direction = "sendrecv";
        if (kind === "audio") await transceiver.sender.replaceTrack(this.#microphone);
        if (kind === "video") {
          this.#videoTransceiver = transceiver;
          await transceiver.sender.replaceTrack(video);
        }
      }
      await pc.setLocalDescription();
      const answer = /** @type {RTCSessionDescription} */ (pc.localDescription);
      await this.#port.request("accept", {
        callId: this.id,
        description: { type: answer.type, sdp: answer.sdp },
        media: { audio: true, video: video !== null },
      });
      this.#afterAck();
    } catch (error) {
      this.#failed(error);
      throw error;
    }
  }

  /** @param {CallOptions} options @returns {Promise<MediaStreamTrack | null>} the video track */
  async #openMedia(options) {
    this.#microphone = await this.#port.devices._microphone();
    if (options.audioOptions?.muted) {
      this.#microphone.enabled = false;
      this.isMuted = true;
      this._emit("isMutedChanged", undefined);
    }
    const stream = options.videoOptions?.localVideoStreams?.[0];
    const video = stream ? (await stream.getMediaStream()).getVideoTracks()[0] ?? null : null;
    if (stream && video) {
      this.localVideoStreams = [stream];
      stream._sourceListeners.add(this.#swapCamera);
    }
    const pc = new RTCPeerConnection({ iceServers: this.#port.iceServers() });
    this.#pc = pc;
    pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate === "") return; // ends below (null)
      this.#sendCandidate(event.candidate ? event.candidate.toJSON() : { candidate: "" });
    };
    pc.ontrack = (event) => this.#onTrack(event.track);
    return video;
  }

  /** @param {string} callId */
  #placed(callId) {
    this.id = callId;
    this.#port.track(this);
    this._emit("idChanged", undefined);
  }

  /** The server knows our part in the call: trickle, and say what the user did meanwhile. */
  #afterAck() {
    const held = this.#heldCandidates ?? [];
    this.#heldCandidates = null;
    held.forEach((candidate) => this.#sendCandidate(candidate));
    if (this.isMuted) this.#mediaState({ muted: true }).catch(report);
  }

  /** @param {unknown} error */
  #failed(error) {
    report(error);
    const phrase = error instanceof Error ? error.message : String(error);
    if (this.id && this.state !== "Disconnected") {
      this.#port.request("hangUp", { callId: this.id }).catch(() => {});
    }
    this._end({ code: SETUP_FAILED, subCode: 0, phrase });
  }

  /** @param {object} candidate */
  #sendCandidate(candidate) {
    if (this.#heldCandidates !== null) {
      this.#heldCandidates.push(candidate);
      return;
    }
    if (this.state === "Disconnected") return;
    this.#port.request("candidate", { callId: this.id, candidate }).catch(() => {
      // refused once the call is over: nothing to do
    });
  }

  // ---- frames from the agent ------------------------------------------------------------------

  /** @internal @param {ServerFrame} frame */
  _onFrame(frame) {
    switch (frame.type) {
      case "callUpdated":
        this.#updateParticipants(frame.participants ?? []);
        if (frame.state === "Ringing" && this.state === "Connecting") this.#setState("Ringing");
        if (frame.state === "Connected" && ["Connecting", "Ringing"].includes(this.state)) {
          this.#setState("Connected");
        }
        break;
      case "participantUpdated":
        this.#updateParticipants([frame.participant]);
        break;
      case "sdp":
        this.#inOrder(() => this.#remoteDescription(frame.description));
        break;
      case "candidate":
        this.#inOrder(async () => {
          if (this.#pc && this.state !== "Disconnected") {
            await this.#pc.addIceCandidate(frame.candidate);
          }
        });
        break;
      case "callEnded":
        this._end(frame.reason ?? { code: 0, subCode: 0 });
        break;
      default:
        break; // a frame type from a newer protocol revision
    }
  }

  /** @param {() => Promise<void>} step */
  #inOrder(step) {
    this.#media = this.#media.then(step).catch(report);
  }

  /** @param {RTCSessionDescriptionInit} description */
  async #remoteDescription(description) {
    const pc = this.#pc;
    if (pc === null || this.state === "Disconnected") return;
    await pc.setRemoteDescription(description);
    if (description.type === "offer") {
      await pc.setLocalDescription();
      const answer = /** @type {RTCSessionDescription} */ (pc.localDescription);
      const sdp = { type: answer.type, sdp: answer.sdp };
      await this.#port.request("sdp", { callId: this.id, description: sdp });
    }
  }

  /** @param {WireParticipant[]} participants */
  #updateParticipants(participants) {
    /** @type {RemoteParticipant[]} */
    const added = [];
    for (const wire of participants) {
      const known = this.remoteParticipants.find((p) => p._participantId === wire.participantId);
      if (known) {
        known._update(wire);
      } else {
        const participant = new RemoteParticipant(wire);
        this.remoteParticipants = [...this.remoteParticipants, participant];
        added.push(participant);
      }
    }
    this.#showRemoteVideo();
    if (added.length) this._emit("remoteParticipantsUpdated", { added, removed: [] });
    const held = this.remoteParticipants.some((p) => p.state === "Hold");
    if (held && this.state === "Connected") this.#setState("RemoteHold");
    if (!held && this.state === "RemoteHold") this.#setState("Connected");
  }

  /** @param {MediaStreamTrack} track */
  #onTrack(track) {
    if (track.kind === "audio") {
      // ACS plays remote audio itself; so do we (no element in the page needed).
      this.#remoteAudio?.pause();
      const audio = new Audio();
      audio.autoplay = true;
      audio.srcObject = new MediaStream([track]);
      audio.play().catch(() => {}); // autoplay may wait for a user gesture
      this.#remoteAudio = audio;
    } else {
      this.#remoteVideo = track;
      this.#showRemoteVideo();
    }
  }

  #showRemoteVideo() {
    for (const participant of this.remoteParticipants) {
      participant.videoStreams[0]._update(this.#remoteVideo, participant.isVideoOn);
    }
  }

  // ---- local media state --------------------------------------------------------------------

  /** @param {boolean} muted */
  async #setMuted(muted) {
    if (this.#microphone) this.#microphone.enabled = !muted && this.state !== "LocalHold";
    if (this.isMuted !== muted) {
      this.isMuted = muted;
      this._emit("isMutedChanged", undefined);
    }
    if (this.#heldCandidates === null) await this.#mediaState({ muted });
  }

  /** @param {MediaStreamTrack} track */
  async #sendVideo(track) {
    if (this.#videoTransceiver === null) {
      // The call was set up without a video m-line (e.g. an audio-only offer): renegotiate.
      const pc = this.#pc;
      if (pc === null) throw new Error("the call has no media yet");
      this.#videoTransceiver = pc.addTransceiver(track, { direction: "sendrecv" });
      await pc.setLocalDescription();
      const offer = /** @type {RTCSessionDescription} */ (pc.localDescription);
      await this.#port.request("sdp", {
        callId: this.id,
        description: { type: offer.type, sdp: offer.sdp },
      });
      return;
    }
    this.#videoTransceiver.direction = "sendrecv";
    await this.#videoTransceiver.sender.replaceTrack(track);
  }

  /** A LocalVideoStream we send switched cameras: send the new one. */
  #swapCamera = () => {
    const stream = this.localVideoStreams[0];
    const sender = this.#videoTransceiver?.sender;
    if (!stream || !sender) return;
    stream
      .getMediaStream()
      .then((media) => sender.replaceTrack(media.getVideoTracks()[0] ?? null))
      .catch(report);
  };

  /** @param {boolean} on */
  #enableSending(on) {
    if (this.#microphone) this.#microphone.enabled = on && !this.isMuted;
    const video = this.#videoTransceiver?.sender.track;
    if (video) video.enabled = on;
  }

  /** @param {{ muted?: boolean, videoOn?: boolean }} state */
  async #mediaState(state) {
    if (this.id && this.state !== "Disconnected") {
      await this.#port.request("mediaState", { callId: this.id, ...state });
    }
  }

  /** @param {CallState} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("stateChanged", undefined);
  }

  /** @internal The call is over: close its media and say why. @param {CallEndReason} reason */
  _end(reason) {
    if (this.state === "Disconnected") return;
    this.callEndReason = { code: reason.code, subCode: reason.subCode, phrase: reason.phrase };
    this.#heldCandidates = null;
    this.#pc?.close();
    this.#microphone?.stop();
    this.localVideoStreams.forEach((stream) => stream._sourceListeners.delete(this.#swapCamera));
    this.#remoteAudio?.pause();
    this.#remoteAudio = null;
    for (const participant of this.remoteParticipants) {
      participant.callEndReason = this.callEndReason;
      participant._update({ ...wireOf(participant), state: "Disconnected" });
      participant.videoStreams[0]._update(null, false);
    }
    this.#setState("Disconnected");
    this.#port.ended(this);
  }
}

/** @param {RemoteParticipant} p @returns {WireParticipant} */
function wireOf(p) {
  const id = p.identifier.communicationUserId;
  return {
    participantId: p._participantId,
    identifier: { rawId: id, communicationUser: { id } },
    state: p.state,
    isMuted: p.isMuted,
    videoOn: p.isVideoOn,
  };
}
