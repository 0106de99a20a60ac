// Every list the JS SDKs page that tests/js/chat.mjs, rooms.mjs and numbers.mjs do not already
// follow across pages: chat read receipts, the phone-number catalogue's area codes (toll-free
// and geographic), localities and offerings, and number reservations. Pages of one item
// (`maxPageSize`, added to each first page by a policy where the SDK has no option) and each
// nextLink GET verbatim.
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { PhoneNumbersClient } from "@azure/communication-phone-numbers";
import {
  collect,
  connectionString,
  endpoint,
  firstPageQuery,
  pageSizes,
  requestRecorder,
  run,
} from "./harness.mjs";

const READERS = 3;
const ONE = { maxPageSize: 1 };

await run(async () => {
  const recorder = requestRecorder();
  const paged = {
    additionalPolicies: [...recorder.options.additionalPolicies, firstPageQuery({ maxPageSize: "1" })],
  };
  const identity = new CommunicationIdentityClient(connectionString);
  const users = [];
  for (let i = 0; i < READERS; i++) users.push(await identity.createUserAndToken(["chat"]));
  const chatOf = (user) => new ChatClient(endpoint, new AzureCommunicationTokenCredential(user.token), paged);
  const created = await chatOf(users[0]).createChatThread(
    { topic: "Receipts" },
    { participants: users.map((u) => ({ id: u.user })) },
  );
  const threadId = created.chatThread.id;
  const { id } = await chatOf(users[0]).getChatThreadClient(threadId).sendMessage({ content: "read me" });
  for (const user of users) {
    await chatOf(user).getChatThreadClient(threadId).sendReadReceipt({ chatMessageId: id });
  }
  const thread = chatOf(users[0]).getChatThreadClient(threadId);
  const receipts = (await collect(thread.listReadReceipts())).map((r) => r.sender.communicationUserId);

  const numbers = new PhoneNumbersClient(connectionString, paged);
  // Three reservations of one browsed number each, to page across.
  const browsed = await numbers.browseAvailablePhoneNumbers(
    { countryCode: "US", phoneNumberType: "tollFree" },
    { capabilities: { sms: "inbound+outbound" }, assignmentType: "application" },
  );
  const reservationIds = [];
  for (const number of browsed.phoneNumbers.slice(0, 3)) {
    const reservationId = crypto.randomUUID();
    await numbers.createOrUpdateReservation({ reservationId }, { add: [number] });
    reservationIds.push(reservationId);
  }
  const reserved = (await collect(numbers.listReservations(ONE))).map((r) => r.id);
  const pages = {
    readReceipts: await pageSizes(thread.listReadReceipts()),
    // The numbers SDK sends skip=0&maxPageSize=100 itself; its options carry a page size.
    tollFreeAreaCodes: await pageSizes(numbers.listAvailableTollFreeAreaCodes("US", ONE)),
    geographicAreaCodes: await pageSizes(
      numbers.listAvailableGeographicAreaCodes("US", { ...ONE, assignmentType: "application" }),
    ),
    localities: await pageSizes(numbers.listAvailableLocalities("US", ONE)),
    offerings: await pageSizes(numbers.listAvailableOfferings("US", ONE)),
    reservations: await pageSizes(numbers.listReservations(ONE)),
  };
  return {
    readers: users.map((u) => u.user.communicationUserId).sort(),
    receipts: receipts.sort(),
    reservationIds,
    reserved,
    pages,
    listings: recorder.requests
      .filter((r) => r.method === "GET")
      .map((r) => {
        const url = new URL(r.url);
        return { path: url.pathname, query: Object.fromEntries(url.searchParams), status: r.status };
      }),
  };
});
