// Identity: users, tokens with scopes and lifetimes, revocation and deletion, checked by using
// the tokens with the chat SDK (the only data-plane SDK that takes a user token).
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { connectionString, endpoint, requestRecorder, run } from "./harness.mjs";

/** The JWT payload (base64url) of an access token. */
function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

/** The status a chat call with `token` gets: 200, or the RestError's status. */
async function chatStatus(token) {
  const chat = new ChatClient(endpoint, new AzureCommunicationTokenCredential(token));
  try {
    await chat.listChatThreads().byPage().next();
    return 200;
  } catch (error) {
    return error.statusCode ?? String(error);
  }
}

function minutesFromNow(date) {
  return Math.round((date.getTime() - Date.now()) / 60000);
}

await run(async () => {
  const recorder = requestRecorder();
  const identity = new CommunicationIdentityClient(connectionString, recorder.options);

  const user = await identity.createUser();
  const both = await identity.createUserAndToken(["chat", "voip"], { tokenExpiresInMinutes: 120 });
  const chatOnly = await identity.getToken(user, ["chat"], { tokenExpiresInMinutes: 60 });
  const joinOnly = await identity.getToken(user, ["chat.join.limited"]);
  const usableBefore = await chatStatus(chatOnly.token);

  await identity.revokeTokens(user);
  const usableAfterRevoke = await chatStatus(chatOnly.token);
  const fresh = await identity.getToken(user, ["chat"]);
  const freshUsable = await chatStatus(fresh.token);

  await identity.deleteUser(both.user);
  const deletedUsable = await chatStatus(both.token);
  let tooShort = null;
  try {
    await identity.getToken(user, ["chat"], { tokenExpiresInMinutes: 10 });
  } catch (error) {
    tooShort = { status: error.statusCode, code: error.code };
  }
  return {
    user: user.communicationUserId,
    both: {
      user: both.user.communicationUserId,
      minutes: minutesFromNow(both.expiresOn),
      scope: claims(both.token).acsScope,
      skypeid: claims(both.token).skypeid,
    },
    chatOnly: { minutes: minutesFromNow(chatOnly.expiresOn), scope: claims(chatOnly.token).acsScope },
    joinOnly: { minutes: minutesFromNow(joinOnly.expiresOn), scope: claims(joinOnly.token).acsScope },
    usableBefore,
    usableAfterRevoke,
    freshUsable,
    deletedUsable,
    tooShort,
    apiVersions: [...new Set(recorder.requests.map((r) => new URL(r.url).searchParams.get("api-version")))],
  };
});
