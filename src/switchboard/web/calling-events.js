// Shared pieces of the browser calling SDK (calling.js): event payload types and wire
// identifiers. The typed emitter (`Emitter`) and `report` are in ws-session.js, shared with
// chat.js.

/**
 * ACS's `CommunicationUserIdentifier` (as `@azure/communication-common` spells it).
 * @typedef {{ communicationUserId: string, kind?: "communicationUser", displayName?: string }}
 *   CommunicationUserIdentifier  `displayName` (a Switchboard extra, for `startCall`): the name
 *   end reasons use for a callee that never answered ("Bob is busy.").
 * @typedef {{ phoneNumber: string, rawId: string, kind: "phoneNumber" }} PhoneNumberIdentifier
 *   ACS's `PhoneNumberKind`: a phone in a server call (Call Automation, the voice carrier).
 * @typedef {CommunicationUserIdentifier | PhoneNumberIdentifier} ParticipantIdentifier
 * @typedef {{ phoneNumber: string, rawId?: string, kind?: "phoneNumber" }} PhoneNumberTarget
 *   ACS's `PhoneNumberIdentifier` as an app gives it: a number to call (`startCall`) or the
 *   `alternateCallerId` a phone sees (E.164, `+1…`).
 * @typedef {{ rawId: string, communicationUser?: { id: string },
 *   phoneNumber?: { value: string } }} WireIdentifier
 *   An identifier as the signaling protocol carries it (a server call's caller may be a
 *   phone number, or only a rawId: the app).
 * @typedef {{ code: number, subCode: number, phrase?: string }} CallEndReason
 * @typedef {{ oldValue: string, newValue: string }} ValueChangedEvent
 */

/** @param {WireIdentifier | undefined} wire @returns {ParticipantIdentifier} */
export function fromWire(wire) {
  const phone = wire?.phoneNumber?.value;
  if (phone !== undefined) {
    return { kind: "phoneNumber", phoneNumber: phone, rawId: wire?.rawId ?? `4:${phone}` };
  }
  const id = wire?.communicationUser?.id ?? wire?.rawId ?? "";
  return { kind: "communicationUser", communicationUserId: id };
}

/** The raw id of an identifier (a user's id, or `4:+1…` for a phone). @param {ParticipantIdentifier} identifier */
export function rawIdOf(identifier) {
  return "phoneNumber" in identifier ? identifier.rawId : identifier.communicationUserId;
}

/** @param {CommunicationUserIdentifier} identifier @returns {WireIdentifier} */
export function toWire(identifier) {
  const id = identifier.communicationUserId;
  if (typeof id !== "string" || id === "") {
    throw new TypeError("a participant is { communicationUserId: string }");
  }
  return { rawId: id, communicationUser: { id } };
}
