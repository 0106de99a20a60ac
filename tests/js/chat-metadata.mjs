// Chat 2025-03-15's new fields: thread metadata and retention policy, participant metadata.
// What the server keeps of each, as the SDK reads it back.
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { collect, connectionString, endpoint, run } from "./harness.mjs";

await run(async () => {
  const identity = new CommunicationIdentityClient(connectionString);
  const alice = await identity.createUserAndToken(["chat"]);
  const chat = new ChatClient(endpoint, new AzureCommunicationTokenCredential(alice.token));
  const created = await chat.createChatThread(
    { topic: "Kept?" },
    {
      metadata: { team: "blue" },
      retentionPolicy: { kind: "threadCreationDate", deleteThreadAfterDays: 30 },
      participants: [{ id: alice.user, displayName: "Alice", metadata: { seat: "1" } }],
    },
  );
  const thread = chat.getChatThreadClient(created.chatThread.id);
  const properties = await thread.getProperties();
  const [participant] = await collect(thread.listParticipants());
  return {
    metadata: properties.metadata ?? null,
    retentionPolicy: properties.retentionPolicy ?? null,
    participantMetadata: participant.metadata ?? null,
  };
});
