// Shared pieces of the browser calling SDK (calling.js): event payload types and wire
// identifiers. The typed emitter (`Emitter`) and `report` are in ws-session.js, shared with
// chat.js.

/**
 * ACS's `CommunicationUserIdentifier` (as `@azure/communication-common` spells it).
 * @typedef {{ communicationUserId: string, kind?: "communicationUser" }} CommunicationUserIdentifier
 * @typedef {{ rawId: string, communicationUser?: { id: string },
 *   phoneNumber?: { value: string } }} WireIdentifier
 *   An identifier as the signaling protocol carries it (a server call's caller may be a
 *   phone number, or only a rawId: the app).
 * @typedef {{ code: number, subCode: number, phrase?: string }} CallEndReason
 * @typedef {{ oldValue: string, newValue: string }} ValueChangedEvent
 */

/** @param {WireIdentifier | undefined} wire @returns {CommunicationUserIdentifier} */
export function fromWire(wire) {
  const id = wire?.communicationUser?.id ?? wire?.rawId ?? "";
  return { kind: "communicationUser", communicationUserId: id };
}

/** @param {CommunicationUserIdentifier} identifier @returns {WireIdentifier} */
export function toWire(identifier) {
  const id = identifier.communicationUserId;
  if (typeof id !== "string" || id === "") {
    throw new TypeError("a participant is { communicationUserId: string }");
  }
  return { rawId: id, communicationUser: { id } };
}
