// A call's end reason in words (ACS codes: docs/calling-protocol.md). The app knows the other
// person's name, so the call-flow reasons below say it ("Bob is busy"); for anything else the
// SDK's own `callEndReason.message` is used when it has one (it knows why a join was refused
// or a device failed), then a generic sentence.

/**
 * @param {{ code: number, subCode: number, phrase?: string, message?: string } | undefined} reason
 * @param {{ other?: string, conference?: boolean, localHangUp?: boolean }} context
 */
export function endMessage(reason, context = {}) {
  if (!reason) return "The call ended.";
  const who = context.other ?? "They";
  const key = `${reason.code}/${reason.subCode}`;
  const known = {
    "0/0": context.localHangUp ? "You left the call." : context.conference
      ? "You left the call." : `${who} ended the call.`,
    "487/0": `${who} cancelled the call.`,
    "603/0": `${who} declined the call.`,
    "486/0": `${who} is busy.`,
    "487/10003": "You answered on another device.",
    "487/10004": `${who} did not answer.`,
    "480/10037": `${who} is not online.`,
    "480/10078": `${who} is not available any more.`,
    "0/4521": `${who} lost their connection.`,
    "496/7": "Your connection was lost for too long.",
    "401/10009": "You were signed out of calling.",
    "403/5854": "The meeting organiser did not admit you.",
    "403/5855": "You were removed from the meeting.",
    "403/5856": "The meeting is over.",
  };
  if (known[key]) return known[key];
  if (reason.message) return reason.message;
  if (reason.code === 403 || reason.code === 404) {
    return /not ?found|exist/i.test(reason.phrase ?? "")
      ? "That room does not exist."
      : `You could not join${reason.phrase ? `: ${reason.phrase}` : "."}`;
  }
  if (reason.code === 500) return `The call could not start${reason.phrase ? `: ${reason.phrase}` : "."}`;
  return reason.phrase ? `The call ended: ${reason.phrase}` : "The call ended.";
}
