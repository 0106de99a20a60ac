// SMS: one message from a purchased number to several handsets of the simulator carrier.
import { SmsClient } from "@azure/communication-sms";
import { args, connectionString, requestRecorder, run } from "./harness.mjs";

await run(async () => {
  const recorder = requestRecorder();
  const sms = new SmsClient(connectionString, recorder.options);
  const results = await sms.send(
    { from: args.from, to: args.to, message: args.message },
    { enableDeliveryReport: true, tag: "js-sdk" },
  );
  let unknownSender;
  try {
    unknownSender = await sms.send({ from: args.notOurs, to: args.to.slice(0, 1), message: "?" });
  } catch (error) {
    unknownSender = { status: error.statusCode, code: error.code };
  }
  return {
    results,
    unknownSender,
    requests: recorder.requests.map((r) => ({ url: r.url.replace(/^https:\/\/[^/]+/, ""), status: r.status })),
  };
});
