// Chat with user tokens from the identity SDK: a thread, messages listed across pages (newest
// first, following nextLink), participants and read receipts from the other member's side.
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { apiVersions, collect, connectionString, endpoint, pageSizes, requestRecorder, run } from "./harness.mjs";

const MESSAGES = 5;

await run(async () => {
  const identity = new CommunicationIdentityClient(connectionString);
  const alice = await identity.createUserAndToken(["chat"]);
  const bob = await identity.createUserAndToken(["chat"]);
  const recorder = requestRecorder();
  const clientOf = (user) =>
    new ChatClient(endpoint, new AzureCommunicationTokenCredential(user.token), recorder.options);
  const aliceChat = clientOf(alice);
  const bobChat = clientOf(bob);

  const created = await aliceChat.createChatThread(
    { topic: "Launch" },
    {
      participants: [
        { id: alice.user, displayName: "Alice" },
        { id: bob.user, displayName: "Bob" },
      ],
    },
  );
  const threadId = created.chatThread.id;
  const aliceThread = aliceChat.getChatThreadClient(threadId);
  const bobThread = bobChat.getChatThreadClient(threadId);

  const sent = [];
  for (let i = 0; i < MESSAGES; i++) {
    const { id } = await aliceThread.sendMessage(
      { content: `message ${i}` },
      { senderDisplayName: "Alice", metadata: { n: String(i) } },
    );
    sent.push(id);
  }
  const everything = await collect(bobThread.listMessages());
  const text = everything.filter((m) => m.type === "text");
  const messagePages = await pageSizes(bobThread.listMessages({ maxPageSize: 2 }));
  const last = await bobThread.getMessage(sent.at(-1));
  await bobThread.sendReadReceipt({ chatMessageId: sent.at(-1) });
  await aliceThread.updateTopic("Launch day");
  const properties = await bobThread.getProperties();
  const participants = await collect(aliceThread.listParticipants());
  const participantPages = await pageSizes(aliceThread.listParticipants({ maxPageSize: 1 }));
  const receipts = await collect(aliceThread.listReadReceipts());

  for (let i = 0; i < 2; i++) await aliceChat.createChatThread({ topic: `more ${i}` });
  const threadPages = await pageSizes(aliceChat.listChatThreads({ maxPageSize: 2 }));
  const bobThreads = (await collect(bobChat.listChatThreads())).map((t) => t.id);

  return {
    threadId,
    invalidParticipants: created.invalidParticipants ?? [],
    createdBy: created.chatThread.createdBy?.communicationUserId,
    alice: alice.user.communicationUserId,
    bob: bob.user.communicationUserId,
    sent,
    listed: text.map((m) => ({
      id: m.id,
      content: m.content?.message,
      sender: m.sender?.communicationUserId,
      senderDisplayName: m.senderDisplayName,
      metadata: m.metadata,
    })),
    messageTypes: everything.map((m) => m.type),
    messagePages,
    last: { content: last.content?.message, sequenceId: last.sequenceId, version: last.version },
    topic: properties.topic,
    participants: Object.fromEntries(participants.map((p) => [p.id.communicationUserId, p.displayName])),
    participantPages,
    receipts: receipts.map((r) => ({ sender: r.sender.communicationUserId, messageId: r.chatMessageId })),
    threadPages,
    bobThreads,
    apiVersions: [...new Set(apiVersions(recorder.requests, /^\/chat\//))],
    statuses: [...new Set(recorder.requests.map((r) => r.status))].sort(),
  };
});
