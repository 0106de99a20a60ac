// `Call` of the browser calling SDK (ACS's names and states): 1:1 calls, group calls and Room
// calls.
//
//   outgoing: None ─▶ Connecting ─callUpdated Ringing─▶ Ringing ─answer, Connected─▶ Connected
//   to a phone number: the same states; the server dials it and we join its call through
//     the SFU at once (our offer in startCall), so media is ready when the phone answers
//   incoming: Ringing ─accept()─▶ Connecting ─callUpdated Connected─▶ Connected
//   join:     None ─▶ Connecting ─callUpdated─▶ Connected, or InLobby ─admitted─▶ Connected
//   Connected ⇄ LocalHold (hold/resume) · Connected ⇄ RemoteHold (the other side holds)
//   hangUp() ─▶ Disconnecting ─callEnded─▶ Disconnected (callEndReason)
//   outgoing 1:1, an app answers it (Call Automation): callConverted ─▶ Connecting (the id is
//     the server call's; a fresh offer joins it as a group call) ─callUpdated─▶ Connected
//   callMoved (a server call's app moved us): the same Call, a new id (idChanged) and a new
//     peer connection that accepts the new call with our offer; the microphone stays open
//
// Media (calling-peer.js): one RTCPeerConnection with the ICE servers of the register ack, an
// audio and a video transceiver (video may carry no track: startVideo() then only swaps the
// track in). In a 1:1 call our ICE candidates trickle once the server knows our part in the
// call (after the startCall or accept ack). A group or Room call's media peer is the SFU
// ("media"): it answers our join offer, then offers one m-line per stream we receive, saying
// whose media each carries; it is ICE-lite, so we send it no candidates. A Consumer (Room
// role) may not publish: its senders carry no track while it has that role.

import { Emitter, report } from "./ws-session.js";
import { endReasonMessage } from "./calling-end-reasons.js";
import { DataChannel, DominantSpeakers, Lobby } from "./calling-features.js";
import { LocalMedia } from "./calling-local.js";
import { RemoteParticipant, merge } from "./calling-participant.js";
import { CallPeer } from "./calling-peer.js";
import { CallRecovery } from "./calling-recovery.js";
import { SignalingError } from "./calling-signaling.js";

/**
 * @typedef {import("./calling-events.js").CallEndReason} CallEndReason
 * @typedef {import("./calling-events.js").CommunicationUserIdentifier} CommunicationUserIdentifier
 * @typedef {import("./calling-events.js").PhoneNumberTarget} PhoneNumberTarget
 * @typedef {import("./calling-signaling.js").ServerFrame} ServerFrame
 * @typedef {import("./calling-signaling.js").AckHook} AckHook
 * @typedef {import("./calling-media.js").DeviceManager} DeviceManager
 * @typedef {import("./calling-media.js").LocalVideoStream} LocalVideoStream
 * @typedef {import("./calling-participant.js").WireParticipant} WireParticipant
 * @typedef {import("./calling-participant.js").ParticipantRole} ParticipantRole
 * @typedef {import("./calling-peer.js").StreamOwner} StreamOwner
 * @typedef {import("./calling-peer.js").Description} Description
 *
 * @typedef {"None" | "Connecting" | "Ringing" | "InLobby" | "Connected" | "LocalHold"
 *   | "RemoteHold" | "Disconnecting" | "Disconnected"} CallState
 * @typedef {"Num0" | "Num1" | "Num2" | "Num3" | "Num4" | "Num5" | "Num6" | "Num7" | "Num8"
 *   | "Num9" | "Star" | "Pound" | "A" | "B" | "C" | "D"} DtmfTone  ACS's DtmfTone.
 * @typedef {{ muted?: boolean }} AudioOptions
 * @typedef {{ localVideoStreams?: LocalVideoStream[] }} VideoOptions
 * @typedef {{ audioOptions?: AudioOptions, videoOptions?: VideoOptions }} CallOptions
 * @typedef {CallOptions & { alternateCallerId?: PhoneNumberTarget }} StartCallOptions
 *   ACS's `StartCallOptions`: `alternateCallerId` is the number a phone sees (one of yours).
 * @typedef {{ groupId: string }} GroupLocator  ACS's GroupLocator (a GUID).
 * @typedef {{ roomId: string }} RoomLocator  ACS's RoomLocator.
 * @typedef {{ Lobby: Lobby, DominantSpeakers: DominantSpeakers, DataChannel: DataChannel }}
 *   CallFeatures
 *
 * @typedef {CallEndReason & { message: string }} CallEndReasonWithMessage  The end reason
 *   as the app sees it: ACS's code/subCode, the server's phrase, and a human `message`
 *   (calling-end-reasons.js: "Bob is busy.", "That room does not exist.").
 *
 * @typedef {{ stateChanged: void, idChanged: void, isMutedChanged: void, roleChanged: void,
 *   isScreenSharingOnChanged: void,
 *   isReconnectingChanged: void,
 *   localVideoStreamsUpdated: { added: LocalVideoStream[], removed: LocalVideoStream[] },
 *   remoteParticipantsUpdated: { added: RemoteParticipant[], removed: RemoteParticipant[] } }}
 *   CallEvents
 *
 * @typedef {object} CallPort  What a call needs from its agent.
 * @property {(type: string, fields: Record<string, unknown>, onAck?: AckHook)
 *   => Promise<ServerFrame>} request
 * @property {() => RTCIceServer[]} iceServers
 * @property {DeviceManager} devices
 * @property {string | undefined} displayName  Shown to the others (the agent's).
 * @property {(call: Call) => void} track  Route this call's frames to it (its id is known).
 * @property {(call: Call) => void} ended
 */

/** A local failure (no microphone, a refused request) before or while setting up the call. */
const SETUP_FAILED = 500;
/** A refused join (no such room, outside its window, a voip.join token starting a call). */
const JOIN_REFUSED = 403;
/** SignalingError codes that are not the server refusing a request. */
const LOCAL_ERRORS = new Set(["Closed", "DeviceLost"]);
/** The participant id of the SFU in group and Room calls. */
const MEDIA_PEER = "media";
/** RTCDTMFSender's key for each DtmfTone. @type {Record<DtmfTone, string>} */
const DTMF_KEYS = {
  Num0: "0", Num1: "1", Num2: "2", Num3: "3", Num4: "4", Num5: "5", Num6: "6", Num7: "7",
  Num8: "8", Num9: "9", Star: "*", Pound: "#", A: "A", B: "B", C: "C", D: "D",
};
/** RTCDTMFSender's defaults: each tone 100 ms, 70 ms apart. */
const DTMF_DURATION_MS = 100;
const DTMF_READY_MS = 5000; // how long a key waits for the audio transport
const DTMF_GAP_MS = 70;

/** @extends {Emitter<CallEvents>} */
export class Call extends Emitter {
  id = "";
  /** @type {CallState} */
  state = "None";
  /** @type {CallEndReasonWithMessage | undefined} */
  callEndReason = undefined;
  isMuted = false;
  /** ACS's `isScreenSharingOn`: this device shares its screen (startScreenSharing). */
  isScreenSharingOn = false;
  /** @type {RemoteParticipant[]} */
  remoteParticipants = [];
  /** This device's role: a Room role, else "Unknown" (as ACS). @type {ParticipantRole} */
  role = "Unknown";
  /** This device's participant id in a group or Room call (ACS: `call.info.participantId`). */
  participantId = "";
  /** A group or Room call (media through the SFU)? */
  isConference = false;
  /**
   * The call's media or signaling connection is lost and being recovered (calling-recovery.js);
   * `state` stays what it was, as ACS's does (docs/calling-sdk.md "Reconnecting").
   */
  isReconnecting = false;
  #port;
  /** @type {CallPeer | null} */
  #peer = null;
  #local;
  /** Our candidates, held until the server knows our part in the call. @type {object[] | null} */
  #heldCandidates = [];
  /** @type {RTCSessionDescriptionInit | null} */
  #offer;
  /** @type {CallFeatures} */
  #features;
  #invitedToConference = false;
  /** The callee's name as the app gave it (`startCall([{ communicationUserId, displayName }])`):
   * a callee that never answers gives none. @type {string | undefined} */
  #targetName = undefined;
  /** 1:1: the mids on which the other side shares its screen (its sdp frames say). @type {Set<string>} */
  #remoteScreenMids = new Set();
  #recovery = new CallRecovery({
    // The SFU is ICE-lite (only we can restart); in a 1:1 call the caller restarts, so that
    // two restart offers never cross.
    restarts: () => this.isConference || this.direction === "Outgoing",
    restart: () => this.#peer?.restartIce() ?? Promise.resolve(),
    changed: (reconnecting) => {
      this.isReconnecting = reconnecting;
      this._emit("isReconnectingChanged", undefined);
    },
  });

  /**
   * @internal Made by CallAgent.startCall, CallAgent.join and by incoming calls.
   * @param {CallPort} port
   * @param {"Outgoing" | "Incoming"} direction
   * @param {{ id?: string, caller?: WireParticipant, offer?: RTCSessionDescriptionInit | null,
   *   conference?: boolean }} [init]  `conference`: a server call (Call Automation) rings
   *   with no offer; accepting joins its conference with our own offer
   */
  constructor(port, direction, init = {}) {
    super();
    this.#port = port;
    this.#local = new LocalMedia(port.devices);
    this.direction = direction;
    this.#offer = init.offer ?? null;
    if (init.id) this.id = init.id;
    if (init.caller) this.remoteParticipants = [new RemoteParticipant(init.caller)];
    if (direction === "Incoming") this.state = "Ringing";
    this.#invitedToConference = Boolean(init.conference);
    const features = {
      /** @param {string} type @param {Record<string, unknown>} fields */
      request: (type, fields) => port.request(type, { callId: this.id, ...fields }),
      /** @param {string} id */
      participant: (id) => this.remoteParticipants.find((p) => p._participantId === id),
      links: () => this.#peer?.data ?? null,
      isGroup: () => this.isConference,
      peerId: () => this.remoteParticipants[0]?._participantId,
    };
    this.#features = {
      Lobby: new Lobby(features),
      DominantSpeakers: new DominantSpeakers(features),
      DataChannel: new DataChannel(features),
    };
    this.#features.DataChannel._knows(() => this.remoteParticipants.map((p) => p._participantId));
  }

  /**
   * ACS's `call.feature(Features.Lobby | Features.DominantSpeakers | Features.DataChannel)`.
   * @template {keyof CallFeatures} K
   * @param {K} name
   * @returns {CallFeatures[K]}
   */
  feature(name) {
    const found = this.#features[name];
    if (!found) throw new TypeError(`no call feature ${String(name)}`);
    return found;
  }

  /** The camera streams this call sends, and the shared screen ("ScreenSharing") while
   * sharing. @returns {LocalVideoStream[]} */
  get localVideoStreams() {
    const screen = this.#local.screenStream;
    return screen ? [...this.#local.streams, screen] : this.#local.streams;
  }

  /** Are we sending camera video? */
  get #videoOn() {
    return this.#local.streams.length > 0;
  }

  /** Who waits to be admitted (Presenters of a Room call). */
  get lobby() {
    return this.#features.Lobby;
  }

  get dominantSpeakers() {
    return this.#features.DominantSpeakers;
  }

  get dataChannel() {
    return this.#features.DataChannel;
  }

  /** The SFU's m-lines towards us and whose media each carries (group calls; diagnostics).
   * @returns {StreamOwner[]} */
  get remoteStreams() {
    return this.#peer?.streams ?? [];
  }

  /** The call's WebRTC statistics (inbound-rtp, outbound-rtp, candidate pairs …). */
  async getStats() {
    if (this.#peer === null) return /** @type {RTCStatsReport} */ (/** @type {unknown} */ (new Map()));
    return this.#peer.pc.getStats();
  }

  /** The call's RTCPeerConnection, for diagnostics (null before media is set up). */
  get peerConnection() {
    return this.#peer?.pc ?? null;
  }

  /**
   * ACS's `call.sendDtmf(dtmfTone)`: an RFC 4733 telephone event on our audio stream
   * (RTCDTMFSender); resolves once the tone has been sent.
   * @param {DtmfTone} dtmfTone
   */
  async sendDtmf(dtmfTone) {
    const key = DTMF_KEYS[dtmfTone];
    if (key === undefined) throw new TypeError(`not a DtmfTone: ${String(dtmfTone)}`);
    const dtmf = this.#local.audio?.sender.dtmf ?? null;
    // Connected (signaling) can come before the audio transport is up: canInsertDTMF turns
    // true then, so wait a little for it rather than fail a key pressed right away.
    const until = Date.now() + DTMF_READY_MS;
    while (dtmf !== null && !dtmf.canInsertDTMF && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (this.state !== "Connected" || dtmf === null || !dtmf.canInsertDTMF) {
      throw new Error("sendDtmf needs a connected call with telephone-event negotiated");
    }
    await new Promise((resolve) => {
      // "" once the tone buffer has played out (the tone and the gap after it)
      dtmf.addEventListener("tonechange", function done(event) {
        if (event.tone !== "") return;
        dtmf.removeEventListener("tonechange", done);
        resolve(undefined);
      });
      dtmf.insertDTMF(key, DTMF_DURATION_MS, DTMF_GAP_MS);
    });
  }

  async mute() {
    await this.#setMuted(true);
  }

  async unmute() {
    this.#mayPublish();
    await this.#setMuted(false);
  }

  /** @param {LocalVideoStream} localVideoStream */
  async startVideo(localVideoStream) {
    this.#mayPublish();
    const removed = await this.#local.startVideo(localVideoStream, this.#peer);
    this._emit("localVideoStreamsUpdated", { added: [localVideoStream], removed });
    await this.#mediaState({ videoOn: true });
  }

  /** @param {LocalVideoStream} [localVideoStream] */
  async stopVideo(localVideoStream) {
    if (localVideoStream?.mediaStreamType === "ScreenSharing") return this.stopScreenSharing();
    const removed = await this.#local.stopVideo(localVideoStream);
    this._emit("localVideoStreamsUpdated", { added: [], removed });
    await this.#mediaState({ videoOn: false });
  }

  /**
   * ACS's `startScreenSharing()`: the browser asks which screen, window or tab to share
   * (getDisplayMedia); it is sent as a stream of its own beside the camera (a new m-line
   * the first time: one renegotiation), and the others get a RemoteVideoStream with
   * `mediaStreamType: "ScreenSharing"`. Ends by itself when the user stops it in the browser.
   */
  async startScreenSharing() {
    this.#mayPublish();
    if (this.isScreenSharingOn) return;
    const peer = this.#peer;
    if (peer === null || !["Connected", "LocalHold", "RemoteHold"].includes(this.state)) {
      throw new Error(`screen sharing needs a connected call (it is ${this.state})`);
    }
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    if (this.isScreenSharingOn || this.state === "Disconnected" || !track) {
      stream.getTracks().forEach((t) => t.stop()); // a second click, or the call ended
      return;
    }
    const shared = await this.#local.shareScreen(stream, peer.pc);
    track.addEventListener("ended", () => {
      if (this.#local.screenStream === shared) this.stopScreenSharing().catch(report);
    });
    this.isScreenSharingOn = true;
    this._emit("isScreenSharingOnChanged", undefined);
    this._emit("localVideoStreamsUpdated", { added: [shared], removed: [] });
    await peer.renegotiate();
    await this.#mediaState({ screenShareOn: true });
  }

  /** ACS's `stopScreenSharing()`. */
  async stopScreenSharing() {
    if (!this.isScreenSharingOn) return;
    const removed = await this.#local.unshareScreen();
    this.isScreenSharingOn = false;
    this._emit("isScreenSharingOnChanged", undefined);
    if (removed) this._emit("localVideoStreamsUpdated", { added: [], removed: [removed] });
    if (this.state === "Disconnected") return;
    await this.#mediaState({ screenShareOn: false });
    await this.#peer?.renegotiate();
  }

  async hold() {
    await this.#port.request("hold", { callId: this.id });
    this.#local.enableSending(false, this.isMuted);
    this.#setState("LocalHold");
  }

  async resume() {
    await this.#port.request("resume", { callId: this.id });
    this.#local.enableSending(true, this.isMuted);
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

  /**
   * @internal
   * @param {CommunicationUserIdentifier | PhoneNumberTarget} target
   * @param {StartCallOptions} options
   */
  async _place(target, options) {
    const named = /** @type {{ displayName?: unknown }} */ (target).displayName;
    if (typeof named === "string" && named.trim()) this.#targetName = named.trim();
    if ("phoneNumber" in target) return this.#placePhone(target.phoneNumber, options);
    this.#setState("Connecting");
    try {
      const peer = await this.#openMedia(options);
      await peer.pc.setLocalDescription();
      const id = target.communicationUserId;
      await this.#port.request(
        "startCall",
        {
          targets: [{ rawId: id, communicationUser: { id } }],
          description: peer.local(),
          media: { audio: true, video: this.#videoOn },
          displayName: this.#port.displayName,
        },
        (ack) => this.#placed(String(ack.callId)),
      );
      this.#afterAck();
    } catch (error) {
      this.#failed(error);
    }
  }

  /**
   * A phone number: the server dials it for a call of its own (a server call) that we join
   * at once with our offer, as a group call (the SFU answers); it shows Connecting, then
   * Ringing, then Connected when the phone answers (docs/calling-protocol.md).
   * @param {string} number
   * @param {StartCallOptions} options
   */
  async #placePhone(number, options) {
    const caller = options.alternateCallerId?.phoneNumber;
    const fields = {
      targets: [{ rawId: `4:${number}`, phoneNumber: { value: number } }],
      alternateCallerId: caller ? { rawId: `4:${caller}`, phoneNumber: { value: caller } } : undefined,
    };
    const placed = await this.#enterConference("startCall", fields, options);
    if (placed && this.isMuted) this.#mediaState({ muted: true }).catch(report);
  }

  /** @internal @param {GroupLocator | RoomLocator} locator @param {CallOptions} options */
  async _join(locator, options) {
    const [type, where] =
      "roomId" in locator
        ? ["joinRoom", { roomId: locator.roomId }]
        : ["joinGroupCall", { groupId: locator.groupId }];
    // A Room call opens no microphone or camera before the server says the role may send.
    await this.#enterConference(type, where, options, "roomId" in locator);
  }

  /**
   * Join a call through the SFU with our offer (`joinGroupCall`, `joinRoom`, or `startCall`
   * to a phone number): its ack names the call and our participant id.
   * @param {string} type
   * @param {Record<string, unknown>} fields
   * @param {CallOptions} options
   * @param {boolean} [deferMedia]  open the microphone and camera once the role is known
   * @returns {Promise<boolean>} false when it failed (the call has ended)
   */
  async #enterConference(type, fields, options, deferMedia = false) {
    this.isConference = true;
    this.#heldCandidates = null; // the SFU is ICE-lite: its candidate is in its SDP, ours unused
    this.#setState("Connecting");
    try {
      const peer = await this.#openMedia(options, true, deferMedia);
      await peer.pc.setLocalDescription();
      await this.#port.request(
        type,
        {
          ...fields,
          description: peer.local(),
          media: { audio: true, video: this.#videoOn },
          displayName: this.#port.displayName,
        },
        (ack) => {
          this.participantId = String(ack.participantId ?? "");
          this.#placed(String(ack.callId));
          if (ack.state === "InLobby") this.#setState("InLobby");
        },
      );
      return true;
    } catch (error) {
      const refused = error instanceof SignalingError && !LOCAL_ERRORS.has(error.code);
      this.#failed(error, refused ? JOIN_REFUSED : SETUP_FAILED);
      return false;
    }
  }

  /** @internal @param {CallOptions} options */
  async _accept(options) {
    const ringing = this.state === "Ringing" && this.direction === "Incoming";
    if (ringing && this.#invitedToConference) return this.#acceptConference(options);
    const offer = this.#offer;
    if (!ringing || offer === null) {
      throw new Error(`only a ringing incoming call can be accepted (it is ${this.state})`);
    }
    this.#setState("Connecting");
    try {
      const peer = await this.#openMedia(options, false);
      await peer.pc.setRemoteDescription(offer);
      const video = await this.#local.adoptTransceivers(peer.pc);
      await peer.pc.setLocalDescription();
      await this.#port.request("accept", {
        callId: this.id,
        description: peer.local(),
        media: { audio: true, video: video !== null },
        displayName: this.#port.displayName,
      });
      this.#afterAck();
    } catch (error) {
      this.#failed(error);
      throw error;
    }
  }

  /**
   * A server call: from here on exactly a joined group call (our offer, the SFU's answer
   * and later offers from "media"); the app that rang is not a remote participant.
   * @param {CallOptions} options
   */
  async #acceptConference(options) {
    this.isConference = true;
    this.#heldCandidates = null; // the SFU is ICE-lite: its candidate is in its SDP, ours unused
    this.remoteParticipants = [];
    this.#setState("Connecting");
    try {
      const peer = await this.#openMedia(options);
      await peer.pc.setLocalDescription();
      await this.#port.request(
        "accept",
        {
          callId: this.id,
          description: peer.local(),
          media: { audio: true, video: this.#videoOn },
          displayName: this.#port.displayName,
        },
        (ack) => {
          this.participantId = String(ack.participantId ?? "");
        },
      );
      if (this.isMuted) this.#mediaState({ muted: true }).catch(report);
    } catch (error) {
      this.#failed(error);
      throw error;
    }
  }

  /**
   * Microphone, camera, and the peer connection (with an audio and a video transceiver
   * unless `transceivers` is false: an incoming call takes the offer's).
   * @param {CallOptions} options
   * @param {boolean} [defer]  open nothing yet (a Room call: the role decides)
   * @returns {Promise<CallPeer>}
   */
  async #openMedia(options, transceivers = true, defer = false) {
    const muted = Boolean(options.audioOptions?.muted);
    const stream = options.videoOptions?.localVideoStreams?.[0];
    const video = await this.#local.open(muted, stream, defer);
    if (muted) {
      this.isMuted = true;
      this._emit("isMutedChanged", undefined);
    }
    const peer = this.#newPeer();
    if (transceivers) this.#local.addTransceivers(peer.pc, video);
    return peer;
  }

  /** @returns {CallPeer} */
  #newPeer() {
    if (this.#peer !== null) this.#recovery.reset();
    const peer = new CallPeer(this.#port.iceServers(), this.#port.devices, {
      candidate: (candidate) => this.#sendCandidate(candidate),
      send: (description) => this.#sendDescription(description),
      tracksChanged: () => this.#showRemoteVideo(),
      iceState: (state) => {
        if (this.#peer === peer) this.#recovery.ice(state);
      },
    });
    peer.data.onFrame = (frame) => this.#features.DataChannel._frame(frame);
    this.#peer = peer;
    return peer;
  }

  /**
   * An app answered our ringing 1:1 call (Call Automation): the call goes on as its server
   * call, which we join with a fresh offer (our microphone and camera stay), as when
   * accepting a server call's ring; the callee is no longer a remote participant.
   * @param {string} serverCallId
   */
  async #converted(serverCallId) {
    if (this.state === "Disconnected") return;
    if (this.state === "Disconnecting") {
      // Our hangUp crossed the answer (it named the 1:1 call): leave the server call instead.
      this.#placed(serverCallId);
      this.#port.request("hangUp", { callId: serverCallId }).catch(() => {});
      return;
    }
    this.#placed(serverCallId);
    this.isConference = true;
    this.#heldCandidates = null; // the SFU is ICE-lite: its candidate is in its SDP, ours unused
    this.#setState("Connecting");
    await this.#rejoin();
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

  /** @param {unknown} error @param {number} [code] */
  #failed(error, code = SETUP_FAILED) {
    // A refusal (no such room) or a device the user refused is the call's end reason, told
    // to the app there; anything else is a fault worth the console.
    const expected = error instanceof SignalingError
      || (typeof DOMException !== "undefined" && error instanceof DOMException);
    if (!expected) report(error);
    const phrase = error instanceof Error ? error.message : String(error);
    if (this.id && this.state !== "Disconnected") {
      this.#port.request("hangUp", { callId: this.id }).catch(() => {});
    }
    // What narrows the message: the server's refusal code, or a DOMException's name
    // (NotAllowedError: the user refused the microphone).
    const when = error instanceof SignalingError ? error.code
      : error instanceof Error ? error.name : undefined;
    this._end({ code, subCode: 0, phrase }, when);
  }

  /** @param {object} candidate */
  #sendCandidate(candidate) {
    if (this.isConference) return;
    if (this.#heldCandidates !== null) {
      this.#heldCandidates.push(candidate);
      return;
    }
    if (this.state === "Disconnected") return;
    this.#port.request("candidate", { callId: this.id, candidate }).catch(() => {
      // refused once the call is over: nothing to do
    });
  }

  /** @param {Description} description */
  #sendDescription(description) {
    const to = this.isConference ? MEDIA_PEER : undefined;
    const mids = this.#local.screenMids();
    const screenShareMids = mids.length || this.#local.screen ? mids : undefined;
    return this.#port.request("sdp", { callId: this.id, to, description, screenShareMids });
  }

  // ---- frames from the agent ------------------------------------------------------------------

  /** @internal @param {ServerFrame} frame */
  _onFrame(frame) {
    switch (frame.type) {
      case "callUpdated":
        this.#updated(frame);
        break;
      case "participantUpdated":
        this.#updateParticipants([frame.participant]);
        break;
      case "participantsUpdated":
        // An admitted member leaves the lobby list (the server may not say so separately).
        this.#features.Lobby._joined((frame.added ?? []).map((/** @type {WireParticipant} */ p) => p.participantId));
        this.#updateParticipants(frame.added ?? []);
        this.#removeParticipants(frame.removed ?? []);
        break;
      case "sdp":
        // 1:1: the other side names its screen-share m-lines in its sdp frames.
        if (Array.isArray(frame.screenShareMids)) {
          this.#remoteScreenMids = new Set(frame.screenShareMids.map(String));
        }
        if (!this.isConference && this.#peer?.isFromNewPeer(frame.description)) {
          this.#renewPeer(frame.description);
        } else {
          this.#peer?.remoteDescription(frame.description, frame.streams);
        }
        break;
      case "candidate":
        this.#peer?.candidate(frame.candidate);
        break;
      case "dominantSpeakersChanged":
        this.#features.DominantSpeakers._update((frame.speakers ?? []).map(String));
        break;
      case "lobbyParticipantsUpdated":
        this.#features.Lobby._update(frame.lobby ?? []);
        break;
      case "dataChannelMessage":
        this.#features.DataChannel._receive(
          String(frame.from), String(frame.data), frame.channelId, frame.sequenceNumber,
        );
        break;
      case "callEnded":
        this._end(frame.reason ?? { code: 0, subCode: 0 });
        break;
      case "callConverted":
        this.#converted(String(frame.serverCallId)).catch(report);
        break;
      case "callMoved":
        this.#moved(String(frame.toCallId)).catch(report);
        break;
      default:
        break; // a frame type from a newer protocol revision
    }
  }

  /**
   * The app moved this call to another server call (docs/calling-protocol.md "Server
   * calls"): its frames come under the new id; the old peer connection closes and a new one
   * accepts the new call, as an invited device would.
   * @param {string} toCallId
   */
  async #moved(toCallId) {
    this.#placed(toCallId);
    await this.#rejoin();
  }

  /**
   * Join the call `this.id` names with a new peer connection and a fresh offer (the
   * microphone and camera stay open), as a device accepting a server call's ring: after an
   * app answered our 1:1 call (`callConverted`) or moved us (`callMoved`).
   */
  async #rejoin() {
    const gone = this.remoteParticipants;
    this.remoteParticipants = [];
    gone.forEach((participant) => participant._gone());
    if (gone.length) this._emit("remoteParticipantsUpdated", { added: [], removed: gone });
    this.#peer?.close();
    try {
      const peer = this.#newPeer();
      const video = await this.#local.cameraTrack();
      this.#local.addTransceivers(peer.pc, video);
      await peer.pc.setLocalDescription();
      await this.#port.request(
        "accept",
        {
          callId: this.id,
          description: peer.local(),
          media: { audio: true, video: video !== null },
        },
        (ack) => {
          this.participantId = String(ack.participantId ?? "");
        },
      );
      if (this.isMuted) this.#mediaState({ muted: true }).catch(report);
    } catch (error) {
      this.#failed(error);
    }
  }

  /**
   * The other side's page reloaded mid-call and offers from a new peer connection (a new
   * DTLS fingerprint, which a peer connection cannot take): ours is replaced too, and the new
   * one answers with the same microphone and camera.
   * @param {RTCSessionDescriptionInit} offer
   */
  #renewPeer(offer) {
    this.#peer?.close();
    const peer = this.#newPeer();
    peer.remoteDescription(offer, undefined, () => this.#local.adoptTransceivers(peer.pc));
  }

  /**
   * @internal This page reloaded mid-call (calling.js): the server kept this 1:1 call for the
   * device the page resumed; offer it again from a new peer connection (the other side
   * replaces its own: #renewPeer).
   * @param {string} participantId  Ours in the call.
   * @param {CallOptions} options  The microphone and camera as they were.
   */
  async _resume(participantId, options) {
    this.participantId = participantId;
    this.#heldCandidates = null; // the server knows our part in the call: trickle
    this.#setState("Connected");
    try {
      const peer = await this.#openMedia(options);
      this.#showRemoteVideo();
      await peer.renegotiate();
      if (this.isMuted) await this.#mediaState({ muted: true });
    } catch (error) {
      this.#failed(error);
    }
  }

  /** @param {ServerFrame} frame */
  #updated(frame) {
    if (frame.participantId) this.participantId = String(frame.participantId);
    if (frame.role && frame.role !== this.role) {
      this.role = frame.role;
      this.#local.publish(this.role !== "Consumer").catch(report);
      this._emit("roleChanged", undefined);
    }
    // Lobby members are not in the call: they see nobody until admitted.
    if (frame.state !== "InLobby") this.#updateParticipants(frame.participants ?? []);
    if (frame.state === "Ringing" && this.state === "Connecting") this.#setState("Ringing");
    if (frame.state === "InLobby" && this.state === "Connecting") this.#setState("InLobby");
    if (frame.state === "Connected" && ["Connecting", "Ringing", "InLobby"].includes(this.state)) {
      this.#setState("Connected");
      // A Room call admitted with no role said yet: it may send (a Consumer is told so).
      if (this.#local.deferred && !this.#local.publishing && this.role !== "Consumer") {
        this.#local.publish(true).catch(report);
      }
      // The others learn our mute and video state from us (a join carries neither).
      if (this.isConference && this.role !== "Consumer") {
        this.#mediaState({ muted: this.isMuted, videoOn: this.#videoOn }).catch(report);
      }
    }
  }

  /** @param {WireParticipant[]} participants */
  #updateParticipants(participants) {
    const added = merge(this.remoteParticipants, participants, this.participantId);
    this.remoteParticipants = [...this.remoteParticipants, ...added];
    this.#showRemoteVideo();
    if (added.length) this._emit("remoteParticipantsUpdated", { added, removed: [] });
    const held = this.remoteParticipants.some((p) => p.state === "Hold");
    if (held && this.state === "Connected") this.#setState("RemoteHold");
    if (!held && this.state === "RemoteHold") this.#setState("Connected");
  }

  /** @param {WireParticipant[]} participants */
  #removeParticipants(participants) {
    const ids = new Set(participants.map((p) => p.participantId));
    const removed = this.remoteParticipants.filter((p) => ids.has(p._participantId));
    if (!removed.length) return;
    this.remoteParticipants = this.remoteParticipants.filter((p) => !ids.has(p._participantId));
    removed.forEach((participant) => participant._gone());
    this._emit("remoteParticipantsUpdated", { added: [], removed });
  }

  /** Give each remote participant its camera and screen tracks (in a group call: the
   * m-lines mapped to it; 1:1: the screen is on the mids the other side named). */
  #showRemoteVideo() {
    const peer = this.#peer;
    for (const participant of this.remoteParticipants) {
      const id = participant._participantId;
      let camera = null;
      let screen = null;
      if (peer && this.isConference) {
        camera = peer.trackOf(id, "video", false);
        screen = peer.trackOf(id, "video", true);
      } else if (peer) {
        const ours = new Set(this.#local.screenMids());
        camera = peer.videoTrack((mid) => !this.#remoteScreenMids.has(mid) && !ours.has(mid));
        screen = peer.videoTrack((mid) => this.#remoteScreenMids.has(mid));
      }
      participant.videoStreams[0]._update(camera, participant.isVideoOn);
      participant._screen(screen);
    }
  }

  // ---- local media state --------------------------------------------------------------------

  #mayPublish() {
    if (this.role === "Consumer") {
      throw new Error("a Consumer may not send audio or video in this call");
    }
  }

  /** @param {boolean} muted */
  async #setMuted(muted) {
    this.#local.setMuted(muted);
    const microphone = this.#local.microphone;
    if (microphone) microphone.enabled = !muted && this.state !== "LocalHold";
    if (this.isMuted !== muted) {
      this.isMuted = muted;
      this._emit("isMutedChanged", undefined);
    }
    if (this.#heldCandidates === null) await this.#mediaState({ muted });
  }

  /** @param {{ muted?: boolean, videoOn?: boolean, screenShareOn?: boolean }} state */
  async #mediaState(state) {
    if (this.id && this.state !== "Disconnected" && this.state !== "InLobby") {
      await this.#port.request("mediaState", { callId: this.id, ...state });
    }
  }

  /** @param {CallState} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("stateChanged", undefined);
  }

  /**
   * @internal The agent's signaling connection went down, or came back (re-registered, and
   * the server still has this call). @param {boolean} up
   */
  _signalingChanged(up) {
    this.#recovery.signaling(up);
  }

  /**
   * @internal The call is over: close its media and say why.
   * @param {CallEndReason} reason
   * @param {string} [when]  what narrows the message (a refusal's code; "local": we left)
   */
  _end(reason, when) {
    if (this.state === "Disconnected") return;
    this.#recovery.close();
    const others = this.remoteParticipants;
    const name = this.isConference ? undefined
      : (others.length === 1 ? others[0].displayName : undefined) ?? this.#targetName;
    const local = when ?? (this.state === "Disconnecting" ? "local" : undefined);
    const message = endReasonMessage(reason, { name, when: local });
    this.callEndReason = { code: reason.code, subCode: reason.subCode, phrase: reason.phrase, message };
    if (this.isScreenSharingOn) {
      this.isScreenSharingOn = false;
      this._emit("isScreenSharingOnChanged", undefined);
    }
    this.#heldCandidates = null;
    this.#peer?.close();
    this.#local.close();
    for (const participant of this.remoteParticipants) participant._gone(this.callEndReason);
    this.#setState("Disconnected");
    this.#port.ended(this);
  }
}
