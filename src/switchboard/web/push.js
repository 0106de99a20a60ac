// Switchboard push registration for browsers (docs/push.md): what ACS's SDKs call
// registerPushNotification / unregisterPushNotification (calling: CallAgent uses it with its
// signaling device id) and startPushNotifications / stopPushNotifications (chat apps: any
// stable id of the install).
//
//   const { vapidPublicKey } = await pushConfig(endpoint, token);
//   const sub = await registration.pushManager.subscribe(
//     { userVisibleOnly: true, applicationServerKey: vapidPublicKey });
//   await registerPush(endpoint, token, deviceId, sub);  // PUT /push/registrations/{deviceId}

/**
 * @typedef {{ endpoint: string, keys?: { p256dh?: string, auth?: string } }} SubscriptionJson
 * @typedef {{ toJSON(): SubscriptionJson }} PushSubscriptionLike  a browser PushSubscription
 * @typedef {{ kind: "fcm" | "apns" | "wns", token: string, appId?: string }} NativeToken
 * @typedef {PushSubscriptionLike | SubscriptionJson | NativeToken} DeviceToken
 * @typedef {{ kinds: string[], vapidPublicKey: string | null }} PushConfig
 */

export class PushRegistrationError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.name = "PushRegistrationError";
    this.status = status;
    this.code = code;
  }
}

/**
 * The kinds this server can push and the key a Web Push subscription must use.
 * @param {string} endpoint @param {string} token
 * @returns {Promise<PushConfig>}
 */
export async function pushConfig(endpoint, token) {
  const response = await call(endpoint, token, "GET", "/push/config");
  return /** @type {PushConfig} */ (await response.json());
}

/**
 * Register (or refresh) a device's push target.
 * @param {string} endpoint @param {string} token @param {string} deviceId
 * @param {DeviceToken} deviceToken
 */
export async function registerPush(endpoint, token, deviceId, deviceToken) {
  await call(endpoint, token, "PUT", registrationPath(deviceId), registrationBody(deviceToken));
}

/** @param {string} endpoint @param {string} token @param {string} deviceId */
export async function unregisterPush(endpoint, token, deviceId) {
  await call(endpoint, token, "DELETE", registrationPath(deviceId));
}

/** @param {DeviceToken} deviceToken @returns {Record<string, unknown>} */
export function registrationBody(deviceToken) {
  if ("kind" in deviceToken) {
    return { kind: deviceToken.kind, token: deviceToken.token, appId: deviceToken.appId ?? "" };
  }
  const json = "toJSON" in deviceToken ? deviceToken.toJSON() : deviceToken;
  return { kind: "webpush", endpoint: json.endpoint, keys: json.keys ?? {} };
}

/** @param {string} deviceId */
function registrationPath(deviceId) {
  return `/push/registrations/${encodeURIComponent(deviceId)}`;
}

/**
 * @param {string} endpoint @param {string} token @param {string} method @param {string} path
 * @param {unknown} [body]
 */
async function call(endpoint, token, method, path, body) {
  const url = new URL(path, endpoint);
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const error = await response.json().catch(() => ({}));
    const { code = "Error", message = response.statusText } = error?.error ?? {};
    throw new PushRegistrationError(response.status, code, message);
  }
  return response;
}
