// moveParticipants with the npm SDK: args.to (the call connection the phone moves into),
// args.from (the one it is in), args.phone (its number); then what bad moves answer: an
// unknown fromCall, a participant that is not in fromCall (args.other).
import { CallAutomationClient } from "@azure/communication-call-automation";
import { args, connectionString, run } from "./harness.mjs";

async function statusOf(promise) {
  try {
    await promise;
    return 202;
  } catch (error) {
    return { status: error.statusCode, code: error.code };
  }
}

await run(async () => {
  const client = new CallAutomationClient(connectionString);
  const target = client.getCallConnection(args.to);
  const moved = await target.moveParticipants([{ phoneNumber: args.phone }], args.from, {
    operationContext: "js-move",
  });
  return {
    participants: (moved.participants ?? []).map((p) => p.identifier.phoneNumber),
    fromCall: moved.fromCall,
    operationContext: moved.operationContext,
    unknownFrom: await statusOf(target.moveParticipants([{ phoneNumber: args.phone }], "no-such-call")),
    notThere: await statusOf(
      target.moveParticipants([{ phoneNumber: "+13125550000" }], args.other),
    ),
  };
});
