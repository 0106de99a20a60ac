// A page reloaded mid-call comes back to its calls (calling.js's CallAgent drives this):
//
//   pagehide ─▶ saveForReload: the Connected calls ─▶ sessionStorage (this tab only)
//     ─▶ the ids of the 1:1 calls, for `unregister {keepCalls}` (the server keeps them 5 s)
//   the next CallAgent of the tab (within RELOAD_MS) ─▶ takeSaved ─▶ register as the same
//     device ─▶ 1:1 calls offered again from a new peer connection, group calls joined again
//
// docs/calling-sdk.md "Reloading mid-call"; docs/calling-protocol.md "Reconnection".

/**
 * @typedef {import("./calling-call.js").Call} Call
 * @typedef {import("./calling-call.js").GroupLocator} GroupLocator
 * @typedef {import("./calling-call.js").RoomLocator} RoomLocator
 * @typedef {import("./calling-participant.js").WireParticipant} WireParticipant
 * @typedef {{ muted: boolean, video: boolean }} SavedMedia
 * @typedef {{ conference: false, id: string, direction: "Outgoing" | "Incoming",
 *   participantId: string, participant: WireParticipant }} SavedOneToOne
 * @typedef {{ conference: true, locator: GroupLocator | RoomLocator }} SavedConference
 * @typedef {SavedMedia & (SavedOneToOne | SavedConference)} SavedCall
 * @typedef {{ endpoint: string, userId: string, deviceId: string, lastSeq: number | null }}
 *   SavedDevice
 * @typedef {SavedDevice & { savedAt: number, calls: SavedCall[] }} SavedAgent  What a page
 *   leaving mid-call keeps for its reload.
 */

/** The sessionStorage key of a page's calls across a reload. */
export const RELOAD_KEY = "switchboard.calling.reload";
/** How long after its page left a reload may still come back to the calls (later, the tab's
 * user has moved on; the server keeps a 1:1 call only 5 s anyway). */
export const RELOAD_MS = 30_000;

/**
 * Keep the device and its Connected calls for a reload of this tab.
 * @param {SavedDevice} device
 * @param {Call[]} calls
 * @param {(call: Call) => GroupLocator | RoomLocator | undefined} locatorOf  how a group or
 *   Room call was joined (none: a call that cannot be joined again, e.g. a server call's)
 * @returns {string[]} the 1:1 calls the server should keep for the next page
 */
export function saveForReload(device, calls, locatorOf) {
  const storage = globalThis.sessionStorage;
  if (!storage) return [];
  /** @type {SavedCall[]} */
  const saved = [];
  for (const call of calls) {
    if (call.state !== "Connected" || !call.id) continue;
    const media = { muted: call.isMuted, video: call.localVideoStreams.length > 0 };
    const locator = locatorOf(call);
    const other = call.remoteParticipants[0];
    if (locator) {
      saved.push({ ...media, conference: true, locator });
    } else if (!call.isConference && other) {
      const participant = {
        participantId: other._participantId,
        identifier: other._wireIdentifier,
        state: /** @type {const} */ ("Connected"),
        isMuted: other.isMuted,
        videoOn: other.isVideoOn,
      };
      const { id, direction, participantId } = call;
      saved.push({ ...media, conference: false, id, direction, participantId, participant });
    }
  }
  if (!saved.length) return [];
  /** @type {SavedAgent} */
  const agent = { ...device, savedAt: Date.now(), calls: saved };
  try {
    storage.setItem(RELOAD_KEY, JSON.stringify(agent));
  } catch {
    return []; // storage full or refused: the calls end as on any page close
  }
  return saved.flatMap((call) => (call.conference ? [] : [call.id]));
}

/**
 * What the previous page of this tab left for `endpoint` (read once: a later load starts
 * afresh). @param {string} endpoint @returns {SavedAgent | null}
 */
export function takeSaved(endpoint) {
  try {
    const storage = globalThis.sessionStorage;
    const text = storage?.getItem(RELOAD_KEY);
    if (!storage || !text) return null;
    storage.removeItem(RELOAD_KEY);
    const saved = /** @type {SavedAgent} */ (JSON.parse(text));
    const fresh = Date.now() - Number(saved.savedAt) < RELOAD_MS;
    return fresh && saved.endpoint === endpoint && typeof saved.deviceId === "string"
      ? saved
      : null;
  } catch {
    return null; // no storage (opaque origin, disabled) or not ours
  }
}
