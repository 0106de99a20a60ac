// Call recording (npm @azure/communication-call-automation): start a recording of a running
// group call (args.groupCallId), read its state, pause, resume, stop; then, with
// args.contentLocation, download a chunk whole and by range, at the recording host name.
// The SDK only accepts https URLs under .asm.skype.com (and two Teams suffixes); Node is
// made to resolve that one name to 127.0.0.1 here (dns.lookup), as a hosts-file line would.
import dns from "node:dns";
import { CallAutomationClient } from "@azure/communication-call-automation";
import { args, connectionString, run } from "./harness.mjs";

const RECORDING_HOST = "recordings.switchboard.asm.skype.com";
const lookup = dns.lookup;
dns.lookup = (hostname, options, callback) =>
  hostname === RECORDING_HOST
    ? lookup("127.0.0.1", options, callback)
    : lookup(hostname, options, callback);

async function bytesOf(stream) {
  const parts = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

await run(async () => {
  const client = new CallAutomationClient(connectionString);
  const recording = client.getCallRecording();
  if (args.contentLocation) {
    const whole = await bytesOf(await recording.downloadStreaming(args.contentLocation));
    const part = await bytesOf(
      await recording.downloadStreaming(args.contentLocation, { offset: 10, length: 100 }),
    );
    return { length: whole.length, partHex: part.toString("hex"), headHex: whole.subarray(10, 110).toString("hex") };
  }
  const started = await recording.start({
    callLocator: { id: args.groupCallId, kind: "groupCallLocator" },
    recordingContent: "audio",
    recordingChannel: "mixed",
    recordingFormat: "wav",
  });
  const id = started.recordingId;
  const active = await recording.getState(id);
  await recording.pause(id);
  const paused = await recording.getState(id);
  await recording.resume(id);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await recording.stop(id);
  const stopped = await recording.getState(id);
  return {
    recordingId: id,
    states: [started.recordingState, active.recordingState, paused.recordingState, stopped.recordingState],
  };
});
