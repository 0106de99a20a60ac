// The sample app's view of a group call or meeting (a Room call): a video grid with one tile
// per participant (name, muted mark, the dominant speaker highlighted), this device's role,
// and for Presenters the lobby (Admit / Reject). Everything comes from the SDK's Call:
// remoteParticipants (+ videoStreams), dominantSpeakers, lobby, role.

const $ = (id) => document.getElementById(id);

/**
 * Show `call` in #grid until it ends; returns a function that clears the view.
 * @param call a Call from callAgent.join()
 * @param ui {{ nameOf(userId): string, camera: LocalVideoStream | null, me: string,
 *   VideoStreamRenderer: the SDK's class (the page loads the SDK from Switchboard) }}
 */
export function showConference(call, ui) {
  const renderers = [];
  const grid = $("grid");
  grid.replaceChildren();
  $("videos").hidden = true;
  grid.hidden = false;

  const tile = (key, name) => {
    const div = document.createElement("div");
    div.className = "tile";
    div.id = `tile-${key}`;
    div.dataset.name = name;
    div.innerHTML = `<div class="video"></div><span class="label"><span class="who"></span>
      <span class="muted" hidden>muted</span></span>`;
    div.querySelector(".who").textContent = name;
    grid.append(div);
    return div;
  };
  const render = async (stream, div) => {
    const renderer = new ui.VideoStreamRenderer(stream);
    renderers.push(renderer);
    const view = await renderer.createView({ scalingMode: "Crop" });
    div.querySelector(".video").replaceChildren(view.target);
  };

  const mine = tile("me", `${ui.me} (you)`);
  if (ui.camera) render(ui.camera, mine);
  call.on("isMutedChanged", () => (mine.querySelector(".muted").hidden = !call.isMuted));
  const speakers = call.dominantSpeakers;
  speakers.on("dominantSpeakersChanged", () =>
    mine.classList.toggle("speaking", speakers.participantIds[0] === call.participantId),
  );

  const showParticipant = (participant) => {
    const div = tile(participant.participantId, ui.nameOf(participant.identifier.communicationUserId));
    const showMuted = () => (div.querySelector(".muted").hidden = !participant.isMuted);
    participant.on("isMutedChanged", showMuted);
    showMuted();
    participant.on("isSpeakingChanged", () => div.classList.toggle("speaking", participant.isSpeaking));
    const stream = participant.videoStreams[0];
    const showVideo = () => {
      if (stream.isAvailable && !div.querySelector("video")) render(stream, div);
    };
    stream.on("isAvailableChanged", showVideo);
    showVideo();
  };
  call.remoteParticipants.forEach(showParticipant);
  call.on("remoteParticipantsUpdated", ({ added, removed }) => {
    added.forEach(showParticipant);
    removed.forEach((p) => $(`tile-${p.participantId}`)?.remove());
  });

  const showRole = () => {
    const consumer = call.role === "Consumer";
    $("role").textContent = consumer
      ? "You are a Consumer: you watch and listen; your camera and microphone are not sent."
      : call.role === "Unknown" ? "" : `Your role: ${call.role}`;
    $("mute").disabled = consumer;
    mine.classList.toggle("not-sent", consumer);
  };
  call.on("roleChanged", showRole);
  showRole();

  const lobby = call.lobby;
  const showLobby = () => {
    $("lobby").hidden = lobby.participants.length === 0;
    $("lobby-list").replaceChildren(
      ...lobby.participants.map((participant) => {
        const li = document.createElement("li");
        const name = ui.nameOf(participant.identifier.communicationUserId);
        li.id = `lobby-${name}`;
        li.innerHTML = `<span></span> <button class="admit">Admit</button>
          <button class="reject">Reject</button>`;
        li.querySelector("span").textContent = `${name} is waiting`;
        li.querySelector(".admit").onclick = () => lobby.admit(participant);
        li.querySelector(".reject").onclick = () => lobby.reject(participant);
        return li;
      }),
    );
  };
  lobby.on("lobbyParticipantsUpdated", showLobby);
  showLobby();

  return () => {
    renderers.forEach((renderer) => renderer.dispose());
    grid.replaceChildren();
    grid.hidden = true;
    $("videos").hidden = false;
    $("lobby").hidden = true;
    $("role").textContent = "";
  };
}
