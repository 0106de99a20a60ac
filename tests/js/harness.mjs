// What every scenario module shares: the server's connection string and the test's arguments
// (from the environment, set by tests/integration/js_sdk.py), a policy that records each
// request the SDK sends, and one JSON result on stdout.
import { inspect } from "node:util";

export const connectionString = required("SWITCHBOARD_CONNECTION_STRING");
export const endpoint = connectionString.split(";")[0].replace(/^endpoint=/i, "").replace(/\/$/, "");
export const args = JSON.parse(process.env.SWITCHBOARD_ARGS ?? "{}");

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this module through js_sdk.py`);
  return value;
}

/**
 * A pipeline policy that keeps `{method, url, status}` of every request the SDK sends, so a
 * test can check what the SDK did (the pages it fetched, the api-version it sent).
 * Pass `recorder.options` in a client's options.
 */
export function requestRecorder() {
  const requests = [];
  const policy = {
    name: "switchboardRequestRecorder",
    async sendRequest(request, next) {
      const response = await next(request);
      requests.push({ method: request.method, url: request.url, status: response.status });
      return response;
    },
  };
  return {
    requests,
    options: { additionalPolicies: [{ policy, position: "perRetry" }] },
  };
}

/**
 * A policy that adds `params` to each first-page GET of a listing (one without a
 * continuation): Switchboard's page-size extension (`maxPageSize`), for SDKs that expose none,
 * so a few items span several pages. The server carries it on in `nextLink`.
 */
export function firstPageQuery(params) {
  const policy = {
    name: "switchboardFirstPageQuery",
    async sendRequest(request, next) {
      const url = new URL(request.url);
      const continued = url.searchParams.has("continuationToken") || url.searchParams.has("skip");
      if (request.method === "GET" && !continued) {
        for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
        request.url = url.toString();
      }
      return next(request);
    },
  };
  return { policy, position: "perCall" };
}

/** The api-version of each recorded request whose path matches `pattern`. */
export function apiVersions(requests, pattern) {
  return requests
    .filter((r) => pattern.test(new URL(r.url).pathname))
    .map((r) => new URL(r.url).searchParams.get("api-version"));
}

/** Awaits every item of an async iterable. */
export async function collect(iterable) {
  const items = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The size of each page of a paged iterator (`.byPage()`), following every nextLink. */
export async function pageSizes(paged, settings) {
  const sizes = [];
  for await (const page of paged.byPage(settings)) sizes.push(page.length);
  return sizes;
}

/** Runs `scenario` and prints its result as one JSON document; an error goes to stderr. */
export async function run(scenario) {
  try {
    const result = await scenario();
    process.stdout.write(JSON.stringify(result ?? null) + "\n");
  } catch (error) {
    process.stderr.write(`${inspect(error, { depth: 6 })}\n`);
    if (error?.request?.url) process.stderr.write(`request: ${error.request.method} ${error.request.url}\n`);
    if (error?.response?.bodyAsText) process.stderr.write(`response: ${error.response.bodyAsText}\n`);
    process.exitCode = 1;
  }
}
