// ACS's DataChannel feature over real WebRTC data channels (issue 22).
//
//   createDataChannelSender({channelId, reliability, priority, bitrateInKbps, participants})
//     ─▶ sendMessage(Uint8Array) ─▶ checks: size (32 KB), bitrate (token bucket), closed
//     ─▶ group call: `dataChannelSender` request once (the media node's route; a Room
//        Consumer is refused: Forbidden) ─▶ frame on the peer connection's lossy or durable
//        channel (to the media node; in a 1:1 call straight to the other device)
//   frame from a channel (or the signaling relay) ─▶ DataChannelReceiver per (sender,
//     channelId) ─▶ `dataChannelReceiverCreated` ─▶ receiver `messageReady` ─▶ readMessage()
//
// Frame: u16 channelId | u32 sequenceNumber | u8 n | n bytes sender id | payload. The two
// channels are negotiated (ids 1000 lossy: unordered, maxRetransmits 0; 1001 durable), created
// before the first offer so that it carries the data m-line. Without SCTP (channels not open)
// messages go over the signaling relay, base64 in `dataChannel {channelId, sequenceNumber}`.
// Sequence numbers run 1 … 2^32−1: an empty frame with sequence 0 on the durable channel marks
// the sender closed (after its durable messages); the receiver emits `close`, and the media
// node closes the route on it.

import { Emitter } from "./ws-session.js";

export const LOSSY_ID = 1000;
export const DURABLE_ID = 1001;
export const MAX_MESSAGE_BYTES = 32 * 1024;
const MAX_BITRATE_KBPS = 5000;
const DEFAULT_BITRATE_KBPS = 500;

/**
 * @typedef {import("./calling-events.js").ParticipantIdentifier} ParticipantIdentifier
 * @typedef {"lossy" | "durable"} DataChannelReliability
 * @typedef {"normal" | "high"} DataChannelPriority
 * @typedef {{ channelId?: number, reliability?: DataChannelReliability,
 *   priority?: DataChannelPriority, bitrateInKbps?: number,
 *   participants?: (ParticipantIdentifier | { _participantId: string } | string)[] }}
 *   DataChannelSenderOptions
 * @typedef {{ sequenceNumber: number, data: Uint8Array }} DataChannelMessage
 * @typedef {{ channelId: number, sequence: number, sender: string, payload: Uint8Array }} Frame
 *
 * @typedef {object} DataPort  What the feature needs from its call.
 * @property {(type: string, fields: Record<string, unknown>) => Promise<unknown>} request
 * @property {() => DataLinks | null} links  The current peer connection's channels.
 * @property {() => boolean} isGroup  Through the media node (routes needed)?
 * @property {() => string | undefined} peerId  The other participant of a 1:1 call.
 * @property {(participantId: string) => ParticipantIdentifier | undefined} identifierOf
 * @property {(ref: unknown) => string} participantIdOf
 */

/** An ACS data-channel error: `code` says which (MessageSizeExceeded, BitrateExceeded, …). */
export class DataChannelError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "DataChannelError";
    this.code = code;
  }
}

/** @param {Frame} frame */
export function encodeFrame(frame) {
  const sender = new TextEncoder().encode(frame.sender);
  const out = new Uint8Array(7 + sender.length + frame.payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, frame.channelId);
  view.setUint32(2, frame.sequence);
  view.setUint8(6, sender.length);
  out.set(sender, 7);
  out.set(frame.payload, 7 + sender.length);
  return out;
}

/** @param {ArrayBuffer} buffer @returns {Frame | null} */
export function decodeFrame(buffer) {
  if (buffer.byteLength < 7) return null;
  const view = new DataView(buffer);
  const length = view.getUint8(6);
  if (buffer.byteLength < 7 + length) return null;
  return {
    channelId: view.getUint16(0),
    sequence: view.getUint32(2),
    sender: new TextDecoder().decode(new Uint8Array(buffer, 7, length)),
    payload: new Uint8Array(buffer.slice(7 + length)),
  };
}

/** One peer connection's two negotiated channels. */
export class DataLinks {
  /** @type {(frame: Frame) => void} */
  onFrame = () => {};

  /** @param {RTCPeerConnection} pc */
  constructor(pc) {
    this.lossy = pc.createDataChannel("acs-lossy", {
      negotiated: true, id: LOSSY_ID, ordered: false, maxRetransmits: 0,
    });
    this.durable = pc.createDataChannel("acs-durable", { negotiated: true, id: DURABLE_ID });
    for (const channel of [this.lossy, this.durable]) {
      channel.binaryType = "arraybuffer";
      channel.onmessage = (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        const frame = decodeFrame(event.data);
        if (frame) this.onFrame(frame);
      };
    }
  }

  /** @param {DataChannelReliability} reliability */
  open(reliability) {
    const channel = reliability === "lossy" ? this.lossy : this.durable;
    return channel.readyState === "open" ? channel : null;
  }
}

/** @extends {Emitter<{ messageReady: void, close: void }>} */
export class DataChannelReceiver extends Emitter {
  /** @type {DataChannelMessage[]} */
  #queue = [];

  /** @param {number} channelId @param {ParticipantIdentifier | undefined} sender
   *  @param {string} senderParticipantId */
  constructor(channelId, sender, senderParticipantId) {
    super();
    this.channelId = channelId;
    this.senderParticipantIdentifier = sender;
    this._senderParticipantId = senderParticipantId;
  }

  /** The oldest unread message, or undefined. @returns {DataChannelMessage | undefined} */
  readMessage() {
    return this.#queue.shift();
  }

  /** @internal Its sender closed. */
  _close() {
    this._emit("close", undefined);
  }

  /** @internal @param {DataChannelMessage} message */
  _push(message) {
    this.#queue.push(message);
    this._emit("messageReady", undefined);
  }
}

export class DataChannelSender {
  maxMessageSizeInBytes = MAX_MESSAGE_BYTES;
  #port;
  #sequence = 0;
  #routed = false;
  #closed = false;
  #budget;
  #refilled = performance.now();
  /** @type {string[] | undefined} */
  #participants;

  /** @param {DataPort} port @param {Required<Omit<DataChannelSenderOptions, "participants">>}
   *  options @param {string[] | undefined} participants */
  constructor(port, options, participants) {
    this.#port = port;
    this.channelId = options.channelId;
    this.reliability = options.reliability;
    this.priority = options.priority;
    this.bitrateInKbps = options.bitrateInKbps;
    this.#participants = participants;
    this.#budget = this.bitrateInKbps * 125;
  }

  /** @param {Uint8Array} message */
  async sendMessage(message) {
    if (this.#closed) throw new DataChannelError("SenderClosed", "The data channel sender is closed.");
    if (message.length > MAX_MESSAGE_BYTES) {
      throw new DataChannelError("MessageSizeExceeded", `A message is at most ${MAX_MESSAGE_BYTES} bytes.`);
    }
    this.#spend(message.length);
    if (this.#port.isGroup() && !this.#routed) await this.#open();
    this.#sequence = (this.#sequence % (2 ** 32 - 1)) + 1; // 0 is the close mark
    await this.#deliver(this.reliability, this.#sequence, message);
  }

  /** A frame on the data channel (true), or (no SCTP) over the signaling relay.
   * @param {DataChannelReliability} reliability @param {number} sequence @param {Uint8Array} message */
  async #deliver(reliability, sequence, message) {
    const channel = this.#port.links()?.open(reliability);
    if (channel) {
      channel.send(encodeFrame({ channelId: this.channelId, sequence, sender: "", payload: message }));
      return true;
    }
    let binary = "";
    for (const byte of message) binary += String.fromCharCode(byte);
    await this.#port.request("dataChannel", {
      data: btoa(binary), participantIds: this.#participants,
      channelId: this.channelId, sequenceNumber: sequence,
    });
    return false;
  }

  /** @param {DataChannelSenderOptions["participants"]} participants */
  async setParticipants(participants) {
    this.#participants = participants?.map((p) => this.#port.participantIdOf(p));
    if (this.#routed) await this.#open();
  }

  /** Receivers get the close mark; the node closes the route on it, or (relayed) on the
   *  `dataChannelSender {closed}` that follows it over signaling. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    let overSctp = false;
    if (this.#routed || !this.#port.isGroup()) {
      overSctp = await this.#deliver("durable", 0, new Uint8Array(0));
    }
    if (this.#routed && !overSctp) {
      await this.#port.request("dataChannelSender", { channelId: this.channelId, closed: true });
    }
  }

  async #open() {
    try {
      await this.#port.request("dataChannelSender", {
        channelId: this.channelId, reliability: this.reliability, priority: this.priority,
        bitrateInKbps: this.bitrateInKbps, participantIds: this.#participants,
      });
    } catch (error) {
      const code = /** @type {{ code?: string }} */ (error).code ?? "DataChannelError";
      throw new DataChannelError(code, /** @type {Error} */ (error).message);
    }
    this.#routed = true;
  }

  /** A token bucket holding one second at the sender's bitrate: over it, too fast. @param {number} size */
  #spend(size) {
    const now = performance.now();
    const ceiling = this.bitrateInKbps * 125;
    this.#budget = Math.min(ceiling, this.#budget + ((now - this.#refilled) / 1000) * ceiling);
    this.#refilled = now;
    if (size > this.#budget) {
      throw new DataChannelError("BitrateExceeded", `Sending faster than ${this.bitrateInKbps} kbps.`);
    }
    this.#budget -= size;
  }
}

/** Senders and receivers of ACS's DataChannel feature. */
export class DataChannels {
  /** @type {Map<string, DataChannelReceiver>} */
  #receivers = new Map();
  #port;
  /** @type {(receiver: DataChannelReceiver) => void} */
  #created;

  /** @param {DataPort} port @param {(receiver: DataChannelReceiver) => void} created */
  constructor(port, created) {
    this.#port = port;
    this.#created = created;
  }

  /** @param {DataChannelSenderOptions} [options] */
  createDataChannelSender(options = {}) {
    const channelId = options.channelId ?? 1;
    if (!Number.isInteger(channelId) || channelId < 1 || channelId > 4095) {
      throw new DataChannelError("InvalidChannelId", "channelId is an integer from 1 to 4095.");
    }
    const bitrateInKbps = options.bitrateInKbps ?? DEFAULT_BITRATE_KBPS;
    if (!(bitrateInKbps > 0 && bitrateInKbps <= MAX_BITRATE_KBPS)) {
      throw new DataChannelError("InvalidBitrate", `bitrateInKbps is from 1 to ${MAX_BITRATE_KBPS}.`);
    }
    const participants = options.participants?.map((p) => this.#port.participantIdOf(p));
    return new DataChannelSender(this.#port, {
      channelId, bitrateInKbps,
      reliability: options.reliability ?? "lossy", priority: options.priority ?? "normal",
    }, participants);
  }

  /** @param {Frame} frame */
  frame(frame) {
    this.deliver(frame.sender || this.#port.peerId() || "", frame.channelId, frame.sequence, frame.payload);
  }

  /** @param {string} sender @param {number} channelId @param {number} sequence @param {string} base64 */
  relayed(sender, channelId, sequence, base64) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    this.deliver(sender, channelId, sequence, bytes);
  }

  /** @param {string} sender @param {number} channelId @param {number} sequence @param {Uint8Array} data */
  deliver(sender, channelId, sequence, data) {
    const key = `${sender}\n${channelId}`;
    if (sequence === 0) {
      this.#receivers.get(key)?._close();
      this.#receivers.delete(key);
      return;
    }
    let receiver = this.#receivers.get(key);
    if (!receiver) {
      receiver = new DataChannelReceiver(channelId, this.#port.identifierOf(sender), sender);
      this.#receivers.set(key, receiver);
      this.#created(receiver);
    }
    receiver._push({ sequenceNumber: sequence, data });
  }
}
