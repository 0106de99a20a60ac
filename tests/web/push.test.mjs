// The browser push module: what a registration sends, and an ACS-shaped refusal as an error.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  PushRegistrationError,
  registerPush,
  registrationBody,
  unregisterPush,
} from "../../src/switchboard/web/push.js";

const SUBSCRIPTION = { endpoint: "https://push.example/s/1", keys: { p256dh: "B1", auth: "a1" } };

test("a PushSubscription (or its JSON) registers as webpush with its keys", () => {
  const expected = { kind: "webpush", endpoint: SUBSCRIPTION.endpoint, keys: SUBSCRIPTION.keys };
  assert.deepEqual(registrationBody(SUBSCRIPTION), expected);
  assert.deepEqual(registrationBody({ toJSON: () => SUBSCRIPTION }), expected);
});

test("a native token registers under its kind", () => {
  assert.deepEqual(registrationBody({ kind: "apns", token: "ab12", appId: "com.example" }), {
    kind: "apns",
    token: "ab12",
    appId: "com.example",
  });
});

test("registerPush PUTs the device with the bearer token; a refusal throws its ACS code", async (t) => {
  const seen = [];
  t.mock.method(globalThis, "fetch", async (url, init) => {
    seen.push({ url: String(url), method: init.method, auth: init.headers.Authorization });
    if (init.method === "DELETE") {
      const body = { error: { code: "PushRegistrationNotFound", message: "No such device." } };
      return new Response(JSON.stringify(body), { status: 404 });
    }
    return new Response("{}", { status: 200 });
  });
  await registerPush("https://sb.example:8443", "tok", "dev 1", SUBSCRIPTION);
  assert.deepEqual(seen[0], {
    url: "https://sb.example:8443/push/registrations/dev%201",
    method: "PUT",
    auth: "Bearer tok",
  });
  await assert.rejects(unregisterPush("https://sb.example:8443", "tok", "dev 1"), (error) => {
    assert.ok(error instanceof PushRegistrationError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "PushRegistrationNotFound");
    return true;
  });
});
