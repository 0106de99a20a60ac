// Shared pieces of the browser calling SDK (calling.js): typed events and wire identifiers.

/**
 * ACS's `CommunicationUserIdentifier` (as `@azure/communication-common` spells it).
 * @typedef {{ communicationUserId: string, kind?: "communicationUser" }} CommunicationUserIdentifier
 * @typedef {{ rawId: string, communicationUser?: { id: string } }} WireIdentifier
 *   An identifier as the signaling protocol carries it.
 * @typedef {{ code: number, subCode: number, phrase?: string }} CallEndReason
 * @typedef {{ oldValue: string, newValue: string }} ValueChangedEvent
 */

/** @param {unknown} error */
export function report(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else console.error(error);
}

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

/**
 * `on`/`off` with event names and payloads checked against the map `M`.
 * @template {Record<string, unknown>} M
 */
export class Emitter {
  /** @type {Map<keyof M, Set<(event: any) => void>>} */
  #handlers = new Map();

  /**
   * @template {keyof M} K
   * @param {K} name
   * @param {(event: M[K]) => void} handler
   */
  on(name, handler) {
    let handlers = this.#handlers.get(name);
    if (!handlers) this.#handlers.set(name, (handlers = new Set()));
    handlers.add(handler);
  }

  /**
   * @template {keyof M} K
   * @param {K} name
   * @param {(event: M[K]) => void} handler
   */
  off(name, handler) {
    this.#handlers.get(name)?.delete(handler);
  }

  /**
   * For the SDK's own classes: call every handler; one that throws does not stop the others.
   * @protected
   * @template {keyof M} K
   * @param {K} name
   * @param {M[K]} event
   */
  _emit(name, event) {
    for (const handler of [...(this.#handlers.get(name) ?? [])]) {
      try {
        handler(event);
      } catch (error) {
        report(error);
      }
    }
  }
}
