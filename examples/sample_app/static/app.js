// The sample app's page: sign in by name, friends, chat, 1:1 video calls, group calls and
// meetings (Rooms, with a lobby). conference.js draws group calls and meetings.
// The SDKs come from the Switchboard server itself (`/sdk/*.js`, served with CORS *); the
// app's own API (/api/*) signs users in, keeps friends, and issues Switchboard tokens.

const $ = (id) => document.getElementById(id);

const config = await (await fetch("/api/config")).json();
const endpoint = config.switchboardEndpoint;
const { CallClient, LocalVideoStream, VideoStreamRenderer } = await import(
  `${endpoint}/sdk/calling.js`
);
const { ChatRealtimeClient } = await import(`${endpoint}/sdk/chat.js`);
const { showConference } = await import("/static/conference.js");

const app = {
  me: null, // { session, name, userId }
  friends: [], // [{ name, userId, threadId }]
  directory: [], // [{ name, userId }] of everyone signed in (names of meeting guests)
  selected: null, // the friend whose chat is open
  opening: null, // a token of the latest openChat (an older one's history is dropped)
  shown: new Set(), // ids of the messages shown in the open chat
  agent: null, // CallAgent
  chat: null, // ChatRealtimeClient
  call: null, // the current Call
  incoming: null, // a ringing IncomingCall
  camera: null, // LocalVideoStream
  renderers: [],
  clearConference: null, // clears the group call view
};
window.sampleApp = app; // for the browser tests, and for poking around in devtools

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      "content-type": "application/json",
      ...(app.me ? { authorization: `Bearer ${app.me.session}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error ?? response.statusText);
  return data;
}

const status = (text) => ($("status").textContent = text);
const nameOf = (userId) =>
  [...app.friends, ...app.directory].find((f) => f.userId === userId)?.name ?? userId;

// ---- sign-in ------------------------------------------------------------------------------

$("signin").hidden = false;
status("Signed out");
$("signin").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("name").value).catch((error) => status(`Sign-in failed: ${error.message}`));
});

async function signIn(name) {
  app.me = await api("POST", "/api/signin", { name });
  $("signin").hidden = true;
  $("main").hidden = false;
  $("whoami").textContent = app.me.name;
  const getToken = async () => (await api("POST", "/api/token")).token;

  app.chat = new ChatRealtimeClient({ endpoint, tokenProvider: getToken });
  app.chat.on("chatMessageReceived", showMessage);
  app.chat.on("chatMessageReceived", (event) => {
    // Invitations to group calls and meetings ride on chat messages (their metadata).
    if (event.metadata?.groupCallId || event.metadata?.roomId) refreshInvitations();
  });
  app.chat.on("chatThreadCreated", refreshFriends); // someone befriended us
  await app.chat.start();

  const callClient = new CallClient({ endpoint });
  app.agent = await callClient.createCallAgent({ getToken }, { displayName: app.me.name });
  app.agent.on("incomingCall", ({ incomingCall }) => ring(incomingCall));
  app.agent.on("connectionStateChanged", ({ newValue }) => status(`Calling: ${newValue}`));
  status("Ready");
  await refreshFriends();
  await refreshInvitations();
}

// ---- friends and group calls --------------------------------------------------------------

/** The friends' rows whose box is ticked (invited to the next group call or meeting). */
const ticked = () =>
  [...$("friends").querySelectorAll("li")].filter((li) => li.querySelector("input").checked);

// Refreshes overlap (a chatThreadCreated event and an Add both start one) and their answers can
// arrive out of order: only the newest started refresh may render, or an older list without the
// friend just added would replace the newer one.
let friendsGeneration = 0;

async function refreshFriends() {
  const generation = ++friendsGeneration;
  const friends = await api("GET", "/api/friends");
  if (generation !== friendsGeneration) return;
  app.friends = friends;
  const kept = new Map(ticked().map((li) => [li.id, li.querySelector(".role").value]));
  $("friends").replaceChildren(
    ...app.friends.map((friend) => {
      const li = document.createElement("li");
      li.id = `friend-${friend.name}`;
      li.classList.toggle("selected", friend.name === app.selected?.name);
      li.innerHTML = `<input type="checkbox" title="invite to a group call or meeting">
        <span class="friend-name"></span>
        <select class="role" title="role in a meeting">
          <option>Attendee</option><option>Consumer</option></select>
        <button class="chat">Chat</button> <button class="call">Video call</button>`;
      li.querySelector(".friend-name").textContent = friend.name;
      li.querySelector("input").dataset.name = friend.name;
      li.querySelector(".chat").onclick = () => openChat(friend);
      li.querySelector(".call").onclick = () => startCall(friend);
      if (kept.has(li.id)) {
        li.querySelector("input").checked = true;
        li.querySelector(".role").value = kept.get(li.id);
      }
      return li;
    }),
  );
}

$("add-friend").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("POST", "/api/friends", { name: $("friend-name").value });
    $("friend-name").value = "";
    await refreshFriends();
  } catch (error) {
    status(String(error.message));
  }
});

/** Group calls and meetings you host or are invited to, each with a Join button. */
async function refreshInvitations() {
  const [calls, meetings] = await Promise.all([
    api("GET", "/api/groupcalls"),
    api("GET", "/api/meetings"),
  ]);
  app.directory = await api("GET", "/api/directory");
  const item = (text, join) => {
    const li = document.createElement("li");
    li.innerHTML = `<span></span> <button class="join">Join</button>`;
    li.querySelector("span").textContent = text;
    li.querySelector(".join").onclick = join;
    return li;
  };
  $("group-calls").replaceChildren(
    ...calls.map((call) => {
      const who = call.host === app.me.name ? `you → ${call.invited.join(", ")}` : call.host;
      return item(`Group call (${who})`, () => join({ groupId: call.groupCallId }));
    }),
  );
  $("meetings").replaceChildren(
    ...meetings.map((meeting) => {
      const mine = meeting.roster.find((entry) => entry.name === app.me.name)?.role;
      const text = `Meeting of ${meeting.organiser} (you: ${mine}) ${meeting.roomId}`;
      return item(text, () => join({ roomId: meeting.roomId }));
    }),
  );
}


$("refresh-group-calls").onclick = refreshInvitations;
$("create-group-call").onclick = async () => {
  const invite = ticked().map((li) => li.querySelector("input").dataset.name);
  const call = await api("POST", "/api/groupcalls", { invite });
  await refreshInvitations();
  join({ groupId: call.groupCallId });
};
$("create-meeting").onclick = async () => {
  const invite = ticked().map((li) => ({
    name: li.querySelector("input").dataset.name,
    role: li.querySelector(".role").value,
  }));
  const meeting = await api("POST", "/api/meetings", { invite });
  await refreshInvitations();
  join({ roomId: meeting.roomId });
};
$("join-room").addEventListener("submit", (event) => {
  event.preventDefault();
  join({ roomId: $("room-id").value.trim() });
});

// ---- chat ---------------------------------------------------------------------------------

async function openChat(friend) {
  app.selected = friend;
  $("chat-with").textContent = `with ${friend.name}`;
  $("chat-input").disabled = $("chat-form").querySelector("button").disabled = false;
  $(`friend-${friend.name}`)?.classList.remove("unread");
  $("messages").replaceChildren();
  app.shown = new Set();
  const opening = (app.opening = {});
  await refreshFriends();
  const history = await api("GET", `/api/chat/${encodeURIComponent(friend.name)}`);
  if (app.opening !== opening) return; // another chat was opened meanwhile
  // Live messages shown while the history loaded are newer: the history goes before them,
  // without the ones already shown.
  const first = $("messages").firstChild;
  for (const message of history) {
    const li = messageItem(message.id, message.senderId, message.message);
    if (li) $("messages").insertBefore(li, first);
  }
}

function showMessage(event) {
  const friend = app.friends.find((f) => f.threadId === event.threadId);
  if (friend && friend.name === app.selected?.name) {
    appendMessage(event.id, event.sender.rawId, event.message);
  } else if (friend) {
    $(`friend-${friend.name}`)?.classList.add("unread");
  }
}

/** A message's list item, or null when it is shown already (history and live overlap). */
function messageItem(id, senderId, text) {
  if (app.shown.has(id)) return null;
  app.shown.add(id);
  const li = document.createElement("li");
  const mine = senderId === app.me.userId;
  li.className = mine ? "mine" : "theirs";
  li.textContent = mine ? text : `${nameOf(senderId)}: ${text}`;
  return li;
}

function appendMessage(id, senderId, text) {
  const li = messageItem(id, senderId, text);
  if (!li) return;
  $("messages").append(li);
  li.scrollIntoView();
}

$("chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("chat-input").value.trim();
  if (!text || !app.selected) return;
  $("chat-input").value = "";
  await api("POST", `/api/chat/${encodeURIComponent(app.selected.name)}`, { text });
});

// ---- calls --------------------------------------------------------------------------------

function videoOptions() {
  app.camera ??= new LocalVideoStream();
  return { localVideoStreams: [app.camera] };
}

/** Join a group call ({ groupId }) or a meeting ({ roomId }) with the camera on. */
function join(locator) {
  if (app.call) return;
  follow(app.agent.join(locator, { videoOptions: videoOptions() }));
}

function startCall(friend) {
  if (app.call) return;
  const call = app.agent.startCall([{ communicationUserId: friend.userId }], {
    videoOptions: videoOptions(),
  });
  follow(call);
}

function ring(incomingCall) {
  app.incoming = incomingCall;
  $("incoming-from").textContent = nameOf(incomingCall.callerInfo.identifier.communicationUserId);
  $("incoming").hidden = false;
  incomingCall.on("callEnded", () => {
    if (app.incoming === incomingCall) hideIncoming();
  });
}

function hideIncoming() {
  app.incoming = null;
  $("incoming").hidden = true;
}

$("accept").onclick = async () => {
  const incoming = app.incoming;
  hideIncoming();
  follow(await incoming.accept({ videoOptions: videoOptions() }));
};
$("reject").onclick = async () => {
  const incoming = app.incoming;
  hideIncoming();
  await incoming.reject();
};
$("mute").onclick = () => (app.call.isMuted ? app.call.unmute() : app.call.mute());
$("hang-up").onclick = () => app.call?.hangUp();

/** Show a call in the page until it ends. */
function follow(call) {
  app.call = call;
  $("end-reason").textContent = "";
  $("mute").disabled = $("hang-up").disabled = false;
  const showState = () => {
    $("call-state").textContent = call.state;
    if (call.state === "Disconnected") ended(call);
  };
  call.on("stateChanged", showState);
  call.on("isMutedChanged", () => ($("mute").textContent = call.isMuted ? "Unmute" : "Mute"));
  showState();
  if (call.isConference) {
    const ui = { nameOf, camera: app.camera, me: app.me.name, VideoStreamRenderer };
    app.clearConference = showConference(call, ui);
    return;
  }
  call.on("remoteParticipantsUpdated", ({ added }) => added.forEach(showParticipant));
  call.remoteParticipants.forEach(showParticipant);
  render(app.camera, $("local-video"));
}

function showParticipant(participant) {
  const id = participant.identifier.communicationUserId;
  $("call-with").textContent = `with ${nameOf(id)}`;
  const showMuted = () =>
    ($("remote-muted").textContent = participant.isMuted ? `${nameOf(id)} is muted` : "");
  participant.on("isMutedChanged", showMuted);
  showMuted();
  const stream = participant.videoStreams[0];
  const showVideo = () => (stream.isAvailable ? render(stream, $("remote-video")) : null);
  stream.on("isAvailableChanged", showVideo);
  showVideo();
}

async function render(stream, container) {
  if (!stream || container.firstChild) return;
  const renderer = new VideoStreamRenderer(stream);
  app.renderers.push(renderer);
  const view = await renderer.createView({ scalingMode: "Crop" });
  container.replaceChildren(view.target);
}

function ended(call) {
  const reason = call.callEndReason;
  $("end-reason").textContent = reason ? `Call ended (${reason.code}/${reason.subCode})` : "";
  $("mute").disabled = $("hang-up").disabled = true;
  $("mute").textContent = "Mute";
  $("remote-muted").textContent = "";
  $("call-with").textContent = "";
  app.clearConference?.();
  app.clearConference = null;
  app.renderers.forEach((renderer) => renderer.dispose());
  app.renderers = [];
  app.camera?.dispose();
  app.camera = null;
  app.call = null;
}
