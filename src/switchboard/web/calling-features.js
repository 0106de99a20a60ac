// Call features of group and Room calls, shaped like ACS's `call.feature(Features.X)`:
// the lobby (Presenters admit or reject who waits), dominant speakers, and ACS's data channel
// (senders and receivers over WebRTC data channels: calling-datachannel.js; the older
// `send`/`message` strings are relayed by signaling).
//
//   lobbyParticipantsUpdated ─▶ call.lobby.participants ─ admit(ps) / reject(ps) ─▶ admit/rejectLobby
//   dominantSpeakersChanged  ─▶ call.dominantSpeakers.dominantSpeakers.speakersList
//   dataChannel send(data, {to}) ─▶ dataChannel ─▶ the others' `message` {data, from}

import { Emitter } from "./ws-session.js";
import { RemoteParticipant } from "./calling-participant.js";
import { rawIdOf } from "./calling-events.js";
import { DataChannels } from "./calling-datachannel.js";

/**
 * @typedef {import("./calling-events.js").CommunicationUserIdentifier} CommunicationUserIdentifier
 * @typedef {import("./calling-events.js").ParticipantIdentifier} ParticipantIdentifier
 * @typedef {import("./calling-participant.js").WireParticipant} WireParticipant
 * @typedef {import("./calling-signaling.js").ServerFrame} ServerFrame
 *
 * @typedef {RemoteParticipant | ParticipantIdentifier | string} ParticipantRef
 *   A participant, its identifier, or its participantId.
 * @typedef {{ speakersList: ParticipantIdentifier[], timestamp: Date }} DominantSpeakersInfo
 *
 * @typedef {object} FeaturePort  What the features need from their call.
 * @property {(type: string, fields: Record<string, unknown>) => Promise<ServerFrame>} request
 *   A request about this call (its callId added).
 * @property {(participantId: string) => RemoteParticipant | undefined} participant
 * @property {() => import("./calling-datachannel.js").DataLinks | null} links
 *   The current peer connection's data channels.
 * @property {() => boolean} isGroup  A group or Room call (through the media node)?
 * @property {() => string | undefined} peerId  The other participant of a 1:1 call.
 */

/** ACS's `Features` names, for `call.feature(Features.Lobby)` and friends. */
export const Features = Object.freeze({
  Lobby: /** @type {const} */ ("Lobby"),
  DominantSpeakers: /** @type {const} */ ("DominantSpeakers"),
  DataChannel: /** @type {const} */ ("DataChannel"),
});

/**
 * Who waits to be let into a Room call. Presenters get the list; `admit`/`reject` need the
 * Presenter role (the server answers `Forbidden` otherwise).
 * @extends {Emitter<{ lobbyParticipantsUpdated: { added: RemoteParticipant[],
 *   removed: RemoteParticipant[] } }>}
 */
export class Lobby extends Emitter {
  /** @type {RemoteParticipant[]} */
  participants = [];
  #port;

  /** @param {FeaturePort} port */
  constructor(port) {
    super();
    this.#port = port;
  }

  /** @param {ParticipantRef | ParticipantRef[]} who */
  async admit(who) {
    await this.#port.request("admit", { participantIds: this.#ids(who) });
  }

  async admitAll() {
    if (this.participants.length) await this.admit(this.participants);
  }

  /** Turn them away (their call ends with 403/5854). @param {ParticipantRef | ParticipantRef[]} who */
  async reject(who) {
    await this.#port.request("rejectLobby", { participantIds: this.#ids(who) });
  }

  /** @internal @param {WireParticipant[]} waiting */
  _update(waiting) {
    const before = new Map(this.participants.map((p) => [p._participantId, p]));
    const now = waiting.map((w) => {
      const known = before.get(w.participantId);
      known?._update(w);
      return known ?? new RemoteParticipant(w);
    });
    const added = now.filter((p) => !before.has(p._participantId));
    const ids = new Set(now.map((p) => p._participantId));
    const removed = this.participants.filter((p) => !ids.has(p._participantId));
    this.participants = now;
    if (added.length || removed.length) this._emit("lobbyParticipantsUpdated", { added, removed });
  }

  /** @internal Members who joined the call are no longer waiting. @param {string[]} ids */
  _joined(ids) {
    const left = this.participants.filter((p) => !ids.includes(p._participantId));
    if (left.length !== this.participants.length) this._update(left.map((p) => p._wire()));
  }

  /** @param {ParticipantRef | ParticipantRef[]} who @returns {string[]} */
  #ids(who) {
    return (Array.isArray(who) ? who : [who]).map((ref) => {
      if (typeof ref === "string") return ref;
      if (ref instanceof RemoteParticipant) return ref._participantId;
      const found = this.participants.find((p) => rawIdOf(p.identifier) === rawIdOf(ref));
      if (!found) throw new Error(`${rawIdOf(ref)} is not waiting in the lobby`);
      return found._participantId;
    });
  }
}

/**
 * The call's most recent dominant speakers, first the current one (up to 4).
 * @extends {Emitter<{ dominantSpeakersChanged: void }>}
 */
export class DominantSpeakers extends Emitter {
  /** @type {DominantSpeakersInfo} */
  dominantSpeakers = { speakersList: [], timestamp: new Date() };
  /** The same, as participantIds (Switchboard's). @type {string[]} */
  participantIds = [];
  #port;

  /** @param {FeaturePort} port */
  constructor(port) {
    super();
    this.#port = port;
  }

  /** @internal @param {string[]} ids */
  _update(ids) {
    const before = this.participantIds[0];
    this.participantIds = ids;
    const speakers = ids.map((id) => this.#port.participant(id)).filter((p) => p !== undefined);
    this.dominantSpeakers = {
      speakersList: speakers.map((p) => p.identifier),
      timestamp: new Date(),
    };
    if (before !== ids[0]) {
      if (before) this.#port.participant(before)?._setSpeaking(false);
      if (ids[0]) this.#port.participant(ids[0])?._setSpeaking(true);
    }
    this._emit("dominantSpeakersChanged", undefined);
  }
}

/**
 * ACS's DataChannel feature: `createDataChannelSender(options)` and, per remote sender and
 * channel, a receiver (`dataChannelReceiverCreated`). Also the older string messages relayed
 * by signaling: `send(data, {to})` and the `message` event.
 * @extends {Emitter<{ message: { data: string, participantId: string,
 *   from: RemoteParticipant | undefined },
 *   dataChannelReceiverCreated: import("./calling-datachannel.js").DataChannelReceiver }>}
 */
export class DataChannel extends Emitter {
  #port;
  #channels;

  /** @param {FeaturePort} port */
  constructor(port) {
    super();
    this.#port = port;
    this.#channels = new DataChannels(
      {
        request: port.request,
        links: port.links,
        isGroup: port.isGroup,
        peerId: port.peerId,
        identifierOf: (id) => port.participant(id)?.identifier,
        participantIdOf: (ref) => {
          if (typeof ref === "string") return ref;
          if (ref instanceof RemoteParticipant) return ref._participantId;
          const raw = rawIdOf(/** @type {ParticipantIdentifier} */ (ref));
          for (const id of this.#knownIds()) {
            const p = port.participant(id);
            if (p && rawIdOf(p.identifier) === raw) return id;
          }
          throw new Error(`${raw} is not in the call`);
        },
      },
      (receiver) => this._emit("dataChannelReceiverCreated", receiver),
    );
  }

  /** @param {import("./calling-datachannel.js").DataChannelSenderOptions} [options] */
  createDataChannelSender(options) {
    return this.#channels.createDataChannelSender(options);
  }

  /**
   * A string to everyone else in the call, or only to `options.to` (signaling relay).
   * @param {string} data
   * @param {{ to?: (RemoteParticipant | string)[] }} [options]
   */
  async send(data, options = {}) {
    const to = options.to?.map((p) => (typeof p === "string" ? p : p._participantId));
    await this.#port.request("dataChannel", { data, participantIds: to });
  }

  /** @internal @param {import("./calling-datachannel.js").Frame} frame */
  _frame(frame) {
    this.#channels.frame(frame);
  }

  /** @internal @param {string} from @param {string} data
   *  @param {number | undefined} channelId @param {number | undefined} sequenceNumber */
  _receive(from, data, channelId, sequenceNumber) {
    if (channelId !== undefined && channelId !== null) {
      this.#channels.relayed(from, channelId, sequenceNumber ?? 0, data);
      return;
    }
    this._emit("message", { data, participantId: from, from: this.#port.participant(from) });
  }

  /** @type {() => string[]} */
  #knownIds = () => [];

  /** @internal @param {() => string[]} ids  The call's remote participantIds. */
  _knows(ids) {
    this.#knownIds = ids;
  }
}
