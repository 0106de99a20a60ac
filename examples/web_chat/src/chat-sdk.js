// Microsoft's chat SDK as a web app bundles it: the unmodified npm packages, nothing added.
export { ChatClient } from "@azure/communication-chat";
export { AzureCommunicationTokenCredential } from "@azure/communication-common";
// The SDKs' own logger: a page can turn on their logs (the trouter client's among them).
export { setLogLevel, AzureLogger } from "@azure/logger";
