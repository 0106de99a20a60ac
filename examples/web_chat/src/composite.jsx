// Microsoft's ChatComposite (@azure/communication-react), unchanged, on Switchboard.
// The page's query says who is chatting where: ?endpoint=&token=&userId=&displayName=&threadId=
import { createRoot } from "react-dom/client";
import { ChatComposite, createAzureCommunicationChatAdapter } from "@azure/communication-react";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";

const params = new URLSearchParams(location.search);

async function main() {
  const adapter = await createAzureCommunicationChatAdapter({
    endpoint: params.get("endpoint"),
    userId: { communicationUserId: params.get("userId") },
    displayName: params.get("displayName"),
    credential: new AzureCommunicationTokenCredential(params.get("token")),
    threadId: params.get("threadId"),
  });
  window.adapter = adapter; // for tests: the adapter's state
  createRoot(document.getElementById("app")).render(
    <ChatComposite adapter={adapter} options={{ topic: true, participantPane: true }} />,
  );
}

main().catch((error) => {
  document.body.dataset.error = String(error);
  console.error(error);
});
