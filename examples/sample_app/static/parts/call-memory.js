// Which call this tab is in, kept in sessionStorage: a reload (or a crash of the tab's page)
// rejoins it. Group calls and meetings rejoin by their locator; a 1:1 call offers to call the
// other person again (a 1:1 call has no locator to rejoin).

const CALL_KEY = "switchboard-meet.call";

// A reload ends the page's calls (the SDK unregisters on pagehide, and its calls end): that end
// must not forget the call the next page is to rejoin. This module is imported before the
// SDK's agent exists, so its pagehide listener runs first.
let leavingPage = false;
addEventListener("pagehide", () => (leavingPage = true));
addEventListener("pageshow", () => (leavingPage = false));

/**
 * @typedef {{ kind: "group", groupId: string, title: string }
 *   | { kind: "room", roomId: string, title: string }
 *   | { kind: "peer", name: string, title: string }} RememberedCall
 */

/** @param {RememberedCall} call */
export function rememberCall(call) {
  sessionStorage.setItem(CALL_KEY, JSON.stringify({ ...call, at: Date.now() }));
}

export function forgetCall() {
  if (leavingPage) return;
  sessionStorage.removeItem(CALL_KEY);
}

/** @returns {RememberedCall | null} */
export function rememberedCall() {
  try {
    return JSON.parse(sessionStorage.getItem(CALL_KEY) ?? "null");
  } catch {
    return null;
  }
}
