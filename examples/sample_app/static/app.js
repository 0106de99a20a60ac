// Switchboard Meet, the sample app's web client: sign in by name, contacts with chat (bubbles,
// typing, read receipts), 1:1 video calls, group calls and meetings (Rooms, with a lobby), a
// pre-join screen, a control bar, a grid / speaker view / screen-share stage, and an end
// screen that says why. Plain ES modules, no build step (docs/decisions.md says why); each
// part of the page is a small class in parts/.
// The SDKs come from the Switchboard server itself (`/sdk/*.js`, served with CORS *); the
// app's own API (/api/*) signs users in, keeps contacts, and issues Switchboard tokens.

import { $ } from "./parts/elements.js";
import { AppApi } from "./parts/app-api.js";
import { CallSession } from "./parts/call-session.js";
import { CallToasts } from "./parts/call-toasts.js";
import { ChatPanel } from "./parts/chat-panel.js";
import { Contacts } from "./parts/contacts.js";
import { DeviceSetup } from "./parts/device-setup.js";
import { forgetCall } from "./parts/call-memory.js";

const config = await (await fetch("/api/config")).json();
const endpoint = config.switchboardEndpoint;
const sdk = await import(`${endpoint}/sdk/calling.js`);
const { ChatRealtimeClient } = await import(`${endpoint}/sdk/chat.js`);

const api = new AppApi();
const status = (text) => ($("status").textContent = text);
const callClient = new sdk.CallClient({ endpoint });
const deviceManager = await callClient.getDeviceManager?.();
const devices = new DeviceSetup(sdk, deviceManager);

const app = {
  api,
  devices,
  agent: null,
  chat: null,
  contacts: null,
  session: null,
  toasts: null,
  get me() {
    return api.me;
  },
  get call() {
    return app.session?.call ?? null;
  },
  get directory() {
    return app.contacts?.directory ?? [];
  },
  get friends() {
    return app.contacts?.friends ?? [];
  },
};
window.sampleApp = app; // for the browser tests, and for poking around in devtools

// ---- the reconnecting banner ----------------------------------------------------------------

function showBanner() {
  const call = app.session?.call;
  const lost = app.agent && app.agent.connectionState !== "Connected";
  const reconnecting = Boolean(call?.isReconnecting) || (app.agent && (lost || !navigator.onLine));
  $("reconnecting").hidden = !reconnecting;
  $("reconnecting-text").textContent = call
    ? "Reconnecting… your call will carry on when the network is back."
    : "You are offline. Reconnecting…";
}
addEventListener("online", showBanner);
addEventListener("offline", showBanner);

// ---- sign-in ------------------------------------------------------------------------------

$("signin").addEventListener("submit", (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  signIn(() => api.signIn($("name").value)).catch((error) => {
    $("signin-error").textContent = `Sign-in failed: ${error.message}`;
    status("Signed out");
  });
});

$("sign-out").addEventListener("click", async () => {
  await app.session?.call?.hangUp().catch(() => {});
  forgetCall();
  api.signOut();
  location.reload();
});

async function signIn(getMe) {
  status("Signing in…");
  const me = await getMe();
  if (!me) return showSignIn();
  api.me = me;
  $("signin-screen").hidden = true;
  $("main").hidden = false;
  $("sign-out").hidden = false;
  $("whoami").textContent = me.name;
  const devicesReady = devices.start(me.name); // warms the camera and microphone meanwhile

  const contacts = (app.contacts = new Contacts(api, {
    chat: (friend) => openChat(friend),
    call: (friend) => app.session.callPerson(friend),
    join: (invitation) => prepare(invitation),
  }));
  const chatPanel = new ChatPanel(api, {
    me: () => api.me,
    nameOf: contacts.nameOf,
    friendOfThread: contacts.friendOfThread,
    markUnread: (friend, unread) => contacts.markUnread(friend, unread),
  });
  // The friend's thread id may have been unknown when the list was drawn (the chatThreadCreated
  // event can come before the app's server has stored the thread): read the list again first.
  const openChat = async (friend) => {
    try {
      contacts.select(friend);
      await contacts.refresh();
      const fresh = contacts.friends.find((f) => f.name === friend.name) ?? friend;
      contacts.select(fresh);
      await chatPanel.open(fresh);
    } catch (error) {
      status(String(error.message));
    }
  };

  app.chat = new ChatRealtimeClient({ endpoint, tokenProvider: api.token });
  app.chat.on("chatMessageReceived", (event) => chatPanel.onMessage(event));
  app.chat.on("chatMessageReceived", (event) => invitation(event));
  app.chat.on("typingIndicatorReceived", (event) => chatPanel.onTyping(event));
  app.chat.on("readReceiptReceived", (event) => chatPanel.onReadReceipt(event));
  app.chat.on("chatThreadCreated", () => contacts.refresh()); // someone added us
  const chatStarted = app.chat.start();

  app.agent = await callClient.createCallAgent({ getToken: api.token }, { displayName: me.name });
  app.agent.on("connectionStateChanged", showBanner);
  app.session = new CallSession({
    agent: app.agent,
    devices,
    sdk,
    me: () => api.me,
    nameOf: contacts.nameOf,
    onBanner: showBanner,
  });
  app.toasts = new CallToasts({
    accept: (incoming) => app.session.accept(incoming, callerOf(incoming)).catch(failed),
    decline: (incoming) => incoming.reject().catch(failed),
    join: (invitation) => prepare(invitation),
  });
  app.agent.on("incomingCall", ({ incomingCall }) => {
    const caller = callerOf(incomingCall);
    app.toasts.ring(incomingCall, caller?.name ?? contacts.nameOf(callerId(incomingCall)));
  });
  // Back into a call after a reload as soon as the devices are open and names are known
  // (the directory); chat and the contact list load meanwhile.
  const listsReady = Promise.all([chatStarted, contacts.refresh()]);
  await Promise.all([devicesReady.catch(() => {}), contacts.refreshInvitations()]);
  const rejoined = app.session.rejoinAfterReload(
    (name) => contacts.friendNamed(name),
    app.agent.calls ?? [],
  );
  if (!rejoined) app.session.home();
  await listsReady;
  status("Ready");
}

/** The pre-join screen of a group call or meeting (its ringing invitations stop). */
function prepare(invitation) {
  app.toasts?.dismissInvitations();
  app.session.prepare(invitation);
}

const callerId = (incoming) =>
  incoming.callerInfo?.identifier?.communicationUserId ?? incoming.callerInfo?.identifier?.rawId;
const callerOf = (incoming) => {
  const id = callerId(incoming);
  return app.contacts.friends.find((f) => f.userId === id) ??
    app.contacts.directory.find((u) => u.userId === id) ?? null;
};
const failed = (error) => status(String(error.message ?? error));

/** Invitations to group calls and meetings ride on chat messages (their metadata): ring. */
async function invitation(event) {
  const metadata = event.metadata ?? {};
  if (!metadata.groupCallId && !metadata.roomId) return;
  await app.contacts.refreshInvitations();
  if (event.sender.rawId === api.me.userId) return;
  const found = app.contacts.invitationFor(metadata);
  if (found) app.toasts.invite(found, `${found.host} invites you to ${metadata.roomId ? "a meeting" : "a group call"}`);
}

function showSignIn() {
  $("signin-screen").hidden = false;
  $("main").hidden = true;
  status("Signed out");
  $("name").focus();
}

// A reloaded tab is still signed in (its session in sessionStorage) and rejoins its call.
const saved = api.remembered();
if (saved) {
  signIn(() => api.resume(saved)).catch((error) => {
    status(`Could not sign in again: ${error.message}`);
    showSignIn();
  });
} else {
  showSignIn();
}
