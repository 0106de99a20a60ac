// The sample app's own API (/api/*, examples/sample_app/app.py): sign-in, contacts, chat
// through the app's server, group calls and meetings. The session lives in sessionStorage, so a
// reloaded tab is still signed in (and rejoins its call: call-memory.js).

const SESSION_KEY = "switchboard-meet.session";

export class ApiError extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export class AppApi {
  /** @type {{ session: string, name: string, userId: string } | null} */
  me = null;

  /** The session this tab had before a reload, if any. */
  remembered() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    } catch {
      return null;
    }
  }

  async signIn(name) {
    this.me = await this.request("POST", "/api/signin", { name });
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.me));
    return this.me;
  }

  /** Resume a remembered session; null when the server no longer knows it. */
  async resume(saved) {
    this.me = saved;
    try {
      const me = await this.request("GET", "/api/me");
      return { ...saved, ...me };
    } catch (error) {
      this.signOut();
      if (error instanceof ApiError) return null;
      throw error;
    }
  }

  signOut() {
    this.me = null;
    sessionStorage.removeItem(SESSION_KEY);
  }

  token = async () => (await this.request("POST", "/api/token")).token;

  async request(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: {
        "content-type": "application/json",
        ...(this.me ? { authorization: `Bearer ${this.me.session}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(data.error ?? response.statusText, response.status);
    return data;
  }
}
