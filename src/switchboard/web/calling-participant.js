// `RemoteParticipant` of the browser calling SDK (ACS's names and states), in 1:1, group and
// Room calls alike. A participant is what the signaling protocol says about another member of
// the call; its video comes from the Call, which knows which m-line carries whose media.

import { fromWire } from "./calling-events.js";
import { Emitter } from "./ws-session.js";
import { RemoteVideoStream } from "./calling-media.js";

/**
 * @typedef {import("./calling-events.js").CallEndReason} CallEndReason
 * @typedef {import("./calling-events.js").WireIdentifier} WireIdentifier
 *
 * @typedef {"Idle" | "Connecting" | "Ringing" | "Connected" | "Hold" | "InLobby"
 *   | "Disconnected"} RemoteParticipantState
 * @typedef {"Presenter" | "Attendee" | "Consumer" | "Collaborator" | "Unknown"} ParticipantRole
 *   A Room role; "Unknown" in a plain group call (as ACS says).
 * @typedef {{ participantId: string, identifier: WireIdentifier, state: RemoteParticipantState,
 *   role?: string, isMuted?: boolean, videoOn?: boolean, screenShareOn?: boolean,
 *   displayName?: string }} WireParticipant
 * @typedef {{ stateChanged: void, isMutedChanged: void, isVideoOnChanged: void,
 *   roleChanged: void, isSpeakingChanged: void, isScreenSharingOnChanged: void,
 *   displayNameChanged: void,
 *   videoStreamsUpdated: { added: RemoteVideoStream[], removed: RemoteVideoStream[] } }}
 *   RemoteParticipantEvents
 */

/** @extends {Emitter<RemoteParticipantEvents>} */
export class RemoteParticipant extends Emitter {
  /** @type {string | undefined} What its device gave as `displayName` (undefined: none). */
  displayName = undefined;
  /** @type {CallEndReason | undefined} */
  callEndReason = undefined;
  isMuted = false;
  isVideoOn = false;
  /** It shares its screen (its `videoStreams` then hold a "ScreenSharing" stream). */
  isScreenSharingOn = false;
  /** True while this participant is the call's first dominant speaker (group calls). */
  isSpeaking = false;
  /** @type {ParticipantRole} */
  role = "Unknown";
  /**
   * Its camera ("Video", always first; `isAvailable` follows its camera), and from the first
   * time it shares its screen a "ScreenSharing" stream (`videoStreamsUpdated` adds it; its
   * `isAvailable` follows the sharing).
   * @type {RemoteVideoStream[]}
   */
  videoStreams = [new RemoteVideoStream("Video")];
  /** @type {MediaStreamTrack | null} the screen's track, once the media carries it */
  #screenTrack = null;

  /** @param {WireParticipant} wire */
  constructor(wire) {
    super();
    /** @internal */
    this._participantId = wire.participantId;
    /** @internal */
    this._wireIdentifier = wire.identifier;
    this.identifier = fromWire(wire.identifier);
    /** @type {RemoteParticipantState} */
    this.state = wire.state;
    this._update(wire);
  }

  /** The participant's id in this call (Switchboard's; `streams` and data messages use it). */
  get participantId() {
    return this._participantId;
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
    if (wire.role && wire.role !== this.role) {
      this.role = /** @type {ParticipantRole} */ (wire.role);
      this._emit("roleChanged", undefined);
    }
    const name = wire.displayName || undefined;
    if (name !== undefined && name !== this.displayName) {
      this.displayName = name;
      this._emit("displayNameChanged", undefined);
    }
    if (wire.screenShareOn !== undefined && Boolean(wire.screenShareOn) !== this.isScreenSharingOn) {
      this.isScreenSharingOn = Boolean(wire.screenShareOn);
      this._emit("isScreenSharingOnChanged", undefined);
      this._screen(this.#screenTrack);
    }
  }

  /**
   * @internal The track its shared screen arrives on (null: none yet); the ScreenSharing
   * stream is made the first time it shares.
   * @param {MediaStreamTrack | null} track
   */
  _screen(track) {
    this.#screenTrack = track;
    let stream = this.videoStreams.find((s) => s.mediaStreamType === "ScreenSharing");
    if (!stream && this.isScreenSharingOn) {
      stream = new RemoteVideoStream("ScreenSharing");
      this.videoStreams = [...this.videoStreams, stream];
      this._emit("videoStreamsUpdated", { added: [stream], removed: [] });
    }
    stream?._update(track, this.isScreenSharingOn);
  }

  /** @internal @param {boolean} speaking */
  _setSpeaking(speaking) {
    if (speaking === this.isSpeaking) return;
    this.isSpeaking = speaking;
    this._emit("isSpeakingChanged", undefined);
  }

  /** @internal It left the call (or the call ended). @param {CallEndReason} [reason] */
  _gone(reason) {
    if (reason) this.callEndReason = reason;
    this._update({ ...this._wire(), state: "Disconnected", screenShareOn: false });
    this.videoStreams.forEach((stream) => stream._update(null, false));
  }

  /** @internal @returns {WireParticipant} */
  _wire() {
    return {
      participantId: this._participantId,
      identifier: this._wireIdentifier,
      state: this.state,
      isMuted: this.isMuted,
      videoOn: this.isVideoOn,
    };
  }
}

/**
 * Apply participant frames to `known` (updated in place); returns the newcomers. Lobby
 * members and this device itself (`selfId`) are not remote participants.
 * @param {RemoteParticipant[]} known @param {WireParticipant[]} wires @param {string} selfId
 * @returns {RemoteParticipant[]}
 */
export function merge(known, wires, selfId) {
  /** @type {RemoteParticipant[]} */
  const added = [];
  for (const wire of wires) {
    const found = [...known, ...added].find((p) => p._participantId === wire.participantId);
    if (found) found._update(wire);
    else if (wire.state !== "InLobby" && wire.participantId !== selfId) {
      added.push(new RemoteParticipant(wire));
    }
  }
  return added;
}
