// Human messages for a call's end reason (`call.callEndReason.message`), beside ACS's
// code/subCode: what an app shows on its end-of-call screen ("Bob is busy").
//
// One table, rows [code, subCode, when, withName, withoutName]. `when` narrows a row: "local"
// (this device ended the call), or the error behind a refusal or a local failure (the
// signaling error code, e.g. "NotFound" for an unknown room, or a DOMException's name, e.g.
// "NotAllowedError" for a refused microphone); null matches any. `{name}` is the other
// side's display name in a 1:1 call; without one, `withoutName` is used.
// The Python client has the same table (switchboard/client/calling/end_reasons.py);
// tests/unit/test_end_reason_messages.py checks that both are equal.

/**
 * @typedef {[number, number, string | null, string, string]} EndReasonRow
 * @typedef {{ name?: string, when?: string }} EndReasonContext
 */

/** @type {EndReasonRow[]} */
export const END_REASON_MESSAGES = [
  [0, 0, "local", "You left the call.", "You left the call."],
  [0, 0, null, "{name} ended the call.", "The call ended."],
  [0, 4521, null, "{name} was disconnected.", "The other side was disconnected."],
  [401, 10009, null, "Your sign-in expired. Sign in again to call.", "Your sign-in expired. Sign in again to call."],
  [403, 0, "NotFound", "That room does not exist.", "That room does not exist."],
  [403, 0, "CallNotAllowed", "The meeting is not open at this time.", "The meeting is not open at this time."],
  [403, 0, "Forbidden", "You are not allowed to join this call.", "You are not allowed to join this call."],
  [403, 0, null, "You could not join the call.", "You could not join the call."],
  [403, 5854, null, "The meeting organiser did not admit you.", "The meeting organiser did not admit you."],
  [403, 5855, null, "You were removed from the meeting.", "You were removed from the meeting."],
  [403, 5856, null, "The meeting is over: its time window ended.", "The meeting is over: its time window ended."],
  [404, 0, null, "That number is not in service.", "That number is not in service."],
  [408, 0, null, "Nobody answered.", "Nobody answered."],
  [480, 10037, null, "{name} is not online.", "The person you called is not online."],
  [480, 10078, null, "{name} is not reachable right now.", "The person you called is not reachable right now."],
  [486, 0, null, "{name} is busy.", "The person you called is busy."],
  [487, 0, null, "The call was cancelled.", "The call was cancelled."],
  [487, 10003, null, "The call was answered on another device.", "The call was answered on another device."],
  [487, 10004, null, "{name} did not answer.", "Nobody answered."],
  [496, 7, null, "The connection was lost and could not be restored.", "The connection was lost and could not be restored."],
  [500, 0, "NotAllowedError", "Your microphone or camera could not be used: access was refused.", "Your microphone or camera could not be used: access was refused."],
  [500, 0, "NotFoundError", "No microphone or camera was found.", "No microphone or camera was found."],
  [500, 0, "NotReadableError", "Your microphone or camera is in use by another app.", "Your microphone or camera is in use by another app."],
  [500, 0, null, "The call could not be set up.", "The call could not be set up."],
  [503, 0, null, "The call could not be connected: no phone line is available.", "The call could not be connected: no phone line is available."],
  [603, 0, null, "{name} declined the call.", "The call was declined."],
  // The signaling socket closed for good (close codes, docs/calling-protocol.md).
  [4003, 0, null, "Your sign-in was revoked. Sign in again to call.", "Your sign-in was revoked. Sign in again to call."],
  [4006, 0, null, "This account may not make calls.", "This account may not make calls."],
  [4009, 0, null, "This page is out of date: reload it to call.", "This page is out of date: reload it to call."],
  [4011, 0, null, "Calling moved to another tab or window of yours.", "Calling moved to another tab or window of yours."],
];

/** What a reason with no row says (a code from a newer server, a close code). */
export const DEFAULT_END_MESSAGE = "The call ended.";

/**
 * The human message for an end reason: the row of (code, subCode, when), else of (code,
 * subCode), else of (code, 0) with no `when`, else the default.
 * @param {{ code: number, subCode: number }} reason
 * @param {EndReasonContext} [context]
 * @returns {string}
 */
export function endReasonMessage(reason, context = {}) {
  const { name, when } = context;
  const find = (/** @type {number} */ subCode, /** @type {string | null} */ narrowed) =>
    END_REASON_MESSAGES.find(
      ([code, sub, w]) => code === reason.code && sub === subCode && w === narrowed,
    );
  const row =
    (when ? find(reason.subCode, when) : undefined) ??
    find(reason.subCode, null) ??
    (when ? find(0, when) : undefined) ??
    find(0, null);
  if (!row) return DEFAULT_END_MESSAGE;
  const trimmed = (name ?? "").trim();
  return trimmed ? row[3].replaceAll("{name}", trimmed) : row[4];
}
