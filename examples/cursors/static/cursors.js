// Shared cursors: two browsers, one RTCPeerConnection forced through TURN, one data channel.
// TURN credentials come from this app's server (GET /api/relay, the Network Traversal API);
// offer, answer and candidates go through its WebSocket (WS /ws/{board}). For tests:
// window.cursors = { pc, channel, received, send(x, y) }.

const board = location.hash.slice(1) || "lobby";
const status = document.getElementById("status");
document.getElementById("name").textContent = board;

const { iceServers } = await (await fetch("/api/relay")).json();
const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: "relay" });
// Negotiated on both sides: no in-band open message; positions may be lost or reordered.
const channel = pc.createDataChannel("cursors", { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 });
const received = [];
const cursors = { pc, channel, received, send: (x, y) => channel.send(JSON.stringify({ x, y })) };
window.cursors = cursors;

const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws/${encodeURIComponent(board)}`);
const signal = (message) => socket.send(JSON.stringify(message));
pc.onicecandidate = (event) => { if (event.candidate) signal({ type: "candidate", candidate: event.candidate.toJSON() }); };
socket.onmessage = async (event) => {
  const message = JSON.parse(event.data);
  if (message.type === "peer") {
    await pc.setLocalDescription();
    signal({ type: "description", description: pc.localDescription });
  } else if (message.type === "description") {
    await pc.setRemoteDescription(message.description);
    if (message.description.type === "offer") {
      await pc.setLocalDescription();
      signal({ type: "description", description: pc.localDescription });
    }
  } else if (message.type === "candidate") {
    await pc.addIceCandidate(message.candidate);
  }
};

const peerCursor = document.getElementById("peer-cursor");
channel.onopen = () => { status.textContent = "connected through TURN"; };
channel.onmessage = (event) => {
  const { x, y } = JSON.parse(event.data);
  received.push({ x, y });
  peerCursor.hidden = false;
  peerCursor.style.left = `${x * 100}%`;
  peerCursor.style.top = `${y * 100}%`;
};
document.getElementById("board").addEventListener("pointermove", (event) => {
  if (channel.readyState !== "open") return;
  const area = event.currentTarget.getBoundingClientRect();
  cursors.send((event.clientX - area.left) / area.width, (event.clientY - area.top) / area.height);
});
