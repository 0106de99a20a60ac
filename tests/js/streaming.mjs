// Media streaming and transcription with the npm SDK (@azure/communication-call-automation):
// args.step "parse": each of args.messages through StreamingData.parse (what an app's
// WebSocket server does with our frames), returned with the kind the parser reports;
// args.step "outbound": the app's messages built by createOutboundAudioData(args.data) and
// createOutboundStopAudioData(); args.step "control": start and stop media streaming and
// transcription on args.callConnectionId, and update the transcription's locale.
import {
  CallAutomationClient,
  StreamingData,
  createOutboundAudioData,
  createOutboundStopAudioData,
} from "@azure/communication-call-automation";
import { args, connectionString, run } from "./harness.mjs";

await run(async () => {
  if (args.step === "parse") {
    return args.messages.map((message) => {
      const parsed = StreamingData.parse(message);
      return { kind: StreamingData.getStreamingKind(), ...parsed };
    });
  }
  if (args.step === "outbound") {
    return { audio: createOutboundAudioData(args.data), stop: createOutboundStopAudioData() };
  }
  const client = new CallAutomationClient(connectionString);
  const media = client.getCallConnection(args.callConnectionId).getCallMedia();
  if (args.step === "start") {
    await media.startMediaStreaming({ operationContext: "js-stream" });
    await media.startTranscription({ locale: "en-US", operationContext: "js-text" });
    return { started: true };
  }
  await media.updateTranscription("en-GB", { operationContext: "js-update" });
  await media.stopTranscription({ operationContext: "js-text-stop" });
  await media.stopMediaStreaming({ operationContext: "js-stream-stop" });
  return { stopped: true };
});
