// Phone numbers: search and purchase toll-free SMS numbers (long-running operations polled
// by the SDK), list the purchased numbers and the catalogue across pages (nextLink verbatim),
// release one.
import { PhoneNumbersClient } from "@azure/communication-phone-numbers";
import { args, collect, connectionString, pageSizes, requestRecorder, run } from "./harness.mjs";

const FAST = { updateIntervalInMs: 50 };

await run(async () => {
  const recorder = requestRecorder();
  const numbers = new PhoneNumbersClient(connectionString, recorder.options);
  const search = await numbers.beginSearchAvailablePhoneNumbers(
    {
      countryCode: "US",
      phoneNumberType: "tollFree",
      assignmentType: "application",
      capabilities: { calling: "none", sms: "inbound+outbound" },
      quantity: args.quantity,
    },
    FAST,
  );
  const found = await search.pollUntilDone();
  await (await numbers.beginPurchasePhoneNumbers(found.searchId, FAST)).pollUntilDone();

  const purchased = await collect(numbers.listPurchasedPhoneNumbers());
  const purchasedPages = await pageSizes(numbers.listPurchasedPhoneNumbers({ top: 2 }));
  const released = found.phoneNumbers.at(-1);
  await (await numbers.beginReleasePhoneNumber(released, FAST)).pollUntilDone();
  const remaining = (await collect(numbers.listPurchasedPhoneNumbers())).map((n) => n.phoneNumber);
  const countries = (await collect(numbers.listAvailableCountries())).map((c) => c.countryCode);
  const countryPages = await pageSizes(numbers.listAvailableCountries({ maxPageSize: 2 }));

  return {
    found: found.phoneNumbers,
    purchased: purchased.map((n) => ({
      phoneNumber: n.phoneNumber,
      countryCode: n.countryCode,
      phoneNumberType: n.phoneNumberType,
      sms: n.capabilities.sms,
    })),
    purchasedPages,
    released,
    remaining,
    countries,
    countryPages,
    listings: recorder.requests
      .filter((r) => r.method === "GET" && !new URL(r.url).pathname.includes("/operations/"))
      .map((r) => ({ path: new URL(r.url).pathname, query: Object.fromEntries(new URL(r.url).searchParams), status: r.status })),
  };
});
