// Call Automation (npm @azure/communication-call-automation): the app's side of a call to a
// user. args.step "place": create the call, wait until connected, play to all, list / get /
// mute participants, add and then cancel an invitation, start a DTMF recognize with a prompt;
// args.step "end": hang up for everyone, then check what an ended call and an unknown one
// answer. The test (Python) is the called user's device and the callback receiver.
import { CallAutomationClient } from "@azure/communication-call-automation";
import { args, connectionString, requestRecorder, run } from "./harness.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function statusOf(promise) {
  try {
    await promise;
    return 200;
  } catch (error) {
    return { status: error.statusCode, code: error.code };
  }
}

await run(async () => {
  const recorder = requestRecorder();
  const client = new CallAutomationClient(connectionString, recorder.options);
  const user = { communicationUserId: args.userId };

  if (args.step === "end") {
    const connection = client.getCallConnection(args.callConnectionId);
    await connection.hangUp(true);
    const after = await connection.getCallConnectionProperties();
    const media = connection.getCallMedia();
    return {
      stateAfter: after.callConnectionState,
      playAfterEnd: await statusOf(media.playToAll([{ kind: "textSource", text: "late" }])),
      unknown: await statusOf(client.getCallConnection("no-such-call").getCallConnectionProperties()),
    };
  }

  const created = await client.createCall({ targetParticipant: user }, args.callbackUrl, {
    operationContext: "from-js",
  });
  const id = created.callConnectionProperties.callConnectionId;
  const connection = client.getCallConnection(id);
  let state = created.callConnectionProperties.callConnectionState;
  for (let i = 0; i < 200 && state !== "connected"; i++) {
    await sleep(100);
    state = (await connection.getCallConnectionProperties()).callConnectionState;
  }
  const media = connection.getCallMedia();
  await media.playToAll([{ kind: "textSource", text: "Hello from JavaScript." }], {
    operationContext: "js-play",
  });
  const listed = await connection.listParticipants();
  await connection.muteParticipant(user);
  const muted = await connection.getParticipant(user);
  const invited = await connection.addParticipant(
    { targetParticipant: { communicationUserId: args.otherUserId } },
    { operationContext: "js-add", invitationTimeoutInSeconds: 30 },
  );
  const canceled = await connection.cancelAddParticipantOperation(invited.invitationId, {
    operationContext: "js-cancel",
  });
  await media.startRecognizing(user, 1, {
    kind: "callMediaRecognizeDtmfOptions",
    playPrompt: { kind: "textSource", text: "Press one." },
    interruptPrompt: true,
    operationContext: "js-menu",
  });
  return {
    callConnectionId: id,
    createdState: created.callConnectionProperties.callConnectionState,
    connectedState: state,
    participants: (listed.values ?? []).map((p) => p.identifier.communicationUserId),
    muted: muted.isMuted,
    invitationId: invited.invitationId,
    canceledInvitation: canceled.invitationId,
    apiVersions: [...new Set(recorder.requests.map((r) => new URL(r.url).searchParams.get("api-version")))],
  };
});
