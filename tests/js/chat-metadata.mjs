// Chat 2025-03-15's new fields: thread metadata and retention policy, participant metadata.
// What the server keeps of each as the SDK reads it back; metadata merged on update (as ACS's
// recording shows); a retention policy outside ACS's range refused; Location headers; the
// sequence ids of a new thread's first messages.
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import {
  apiVersions,
  collect,
  connectionString,
  endpoint,
  requestRecorder,
  run,
} from "./harness.mjs";

/** A policy that keeps the Location header of every 201 the SDK receives. */
function locationRecorder() {
  const locations = [];
  const policy = {
    name: "switchboardLocationRecorder",
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status === 201) locations.push(response.headers.get("location") ?? null);
      return response;
    },
  };
  return { locations, options: { additionalPolicies: [{ policy, position: "perRetry" }] } };
}

await run(async () => {
  const identity = new CommunicationIdentityClient(connectionString);
  const alice = await identity.createUserAndToken(["chat"]);
  const bob = await identity.createUserAndToken(["chat"]);
  const recorder = locationRecorder();
  const chat = new ChatClient(
    endpoint,
    new AzureCommunicationTokenCredential(alice.token),
    recorder.options,
  );
  const created = await chat.createChatThread(
    { topic: "Kept?" },
    {
      metadata: { team: "blue", threadType: "primary" },
      retentionPolicy: { kind: "threadCreationDate", deleteThreadAfterDays: 30 },
      participants: [{ id: alice.user, displayName: "Alice", metadata: { seat: "1" } }],
    },
  );
  const thread = chat.getChatThreadClient(created.chatThread.id);
  const properties = await thread.getProperties();
  const { id: firstMessage } = await thread.sendMessage({ content: "first" });
  const [participant] = await collect(thread.listParticipants());

  await thread.updateProperties({ metadata: { threadType: "secondary" } });
  const merged = (await thread.getProperties()).metadata;
  await thread.updateProperties({ retentionPolicy: { kind: "none" } });
  const retentionAfterUpdate = (await thread.getProperties()).retentionPolicy;
  await thread.addParticipants({
    participants: [{ id: bob.user, displayName: "Bob", metadata: { seat: "2" } }],
  });
  const participantMetadata = Object.fromEntries(
    (await collect(thread.listParticipants())).map((p) => [p.displayName, p.metadata ?? null]),
  );

  const sequenceIds = (await collect(thread.listMessages())).map((m) => [m.type, m.sequenceId]);

  let refused = null;
  try {
    await chat.createChatThread(
      { topic: "Too short" },
      { retentionPolicy: { kind: "threadCreationDate", deleteThreadAfterDays: 5 } },
    );
  } catch (error) {
    refused = { status: error.statusCode, code: error.code };
  }

  // An app pinned to the 2024-06-05-preview contract (the generated client's apiVersion option).
  const previewRecorder = requestRecorder();
  const preview = new ChatClient(endpoint, new AzureCommunicationTokenCredential(alice.token), {
    ...previewRecorder.options,
    apiVersion: "2024-06-05-preview",
  });
  const previewCreated = await preview.createChatThread(
    { topic: "Preview" },
    { metadata: { pinned: "preview" }, participants: [{ id: alice.user, metadata: { p: "1" } }] },
  );
  const previewThread = preview.getChatThreadClient(previewCreated.chatThread.id);
  await previewThread.sendMessage({ content: "on the preview" });
  const previewResult = {
    metadata: (await previewThread.getProperties()).metadata ?? null,
    participantMetadata: (await collect(previewThread.listParticipants()))[0].metadata ?? null,
    texts: (await collect(previewThread.listMessages()))
      .filter((m) => m.type === "text")
      .map((m) => [m.content?.message, m.sequenceId]),
    apiVersions: [...new Set(apiVersions(previewRecorder.requests, /^\/chat\//))],
  };

  return {
    preview: previewResult,
    threadId: created.chatThread.id,
    createdThread: {
      metadata: created.chatThread.metadata ?? null,
      retentionPolicy: created.chatThread.retentionPolicy ?? null,
    },
    metadata: properties.metadata ?? null,
    retentionPolicy: properties.retentionPolicy ?? null,
    participantMetadata: participant.metadata ?? null,
    merged: merged ?? null,
    retentionAfterUpdate: retentionAfterUpdate ?? null,
    participantsAfterAdd: participantMetadata,
    firstMessage,
    sequenceIds,
    refused,
    locations: recorder.locations,
  };
});
