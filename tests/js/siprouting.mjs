// SIP routing: every SipRoutingClient method (set/get/list/delete trunks, set/list routes),
// the api-version it sends, and the errors an app sees (ACS's code and inner code).
import { SipRoutingClient } from "@azure/communication-phone-numbers";
import { apiVersions, collect, connectionString, requestRecorder, run } from "./harness.mjs";

const [A, B, C] = ["sbc-a.example.com", "sbc-b.example.com", "sbc-c.example.com"];

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    const body = error.details ?? {};
    return { status: error.statusCode, code: error.code, inner: body.error?.innerError?.code ?? null };
  }
}

await run(async () => {
  const recorder = requestRecorder();
  const sip = new SipRoutingClient(connectionString, recorder.options);
  await sip.setRoutes([]);
  await sip.setTrunks([]);

  const set = await sip.setTrunks([
    { fqdn: A, sipSignalingPort: 5061 },
    { fqdn: B, sipSignalingPort: 5062 },
  ]);
  const one = await sip.setTrunk({ fqdn: C, sipSignalingPort: 5063 });
  const fetched = await sip.getTrunk(B);
  const routes = await sip.setRoutes([
    { name: "us", description: "N. America", numberPattern: "\\+1[0-9]{10}", trunks: [A, C] },
    { name: "any", numberPattern: "^+[1-9][0-9]{3,23}$", trunks: [B] },
  ]);
  const listedRoutes = await collect(sip.listRoutes());
  await sip.setRoutes([routes[0]]);
  await sip.deleteTrunk(B);
  const listedTrunks = await collect(sip.listTrunks());
  const missing = await failure(sip.getTrunk(B));

  const errors = {
    badFqdn: await failure(sip.setTrunk({ fqdn: "-1", sipSignalingPort: 5060 })),
    badPort: await failure(sip.setTrunk({ fqdn: B, sipSignalingPort: 0 })),
    unknownTrunk: await failure(sip.setRoutes([{ name: "r", numberPattern: ".*", trunks: [B] }])),
    badPattern: await failure(sip.setRoutes([{ name: "r", numberPattern: "(", trunks: [A] }])),
    sameName: await failure(
      sip.setRoutes([
        { name: "r", numberPattern: ".*", trunks: [A] },
        { name: "r", numberPattern: ".*", trunks: [C] },
      ]),
    ),
    routedTrunk: await failure(sip.deleteTrunk(A)),
  };
  await sip.setRoutes([]);
  await sip.setTrunks([]);
  return {
    set,
    one,
    fetched,
    routes,
    listedRoutes,
    listedTrunks,
    missing,
    errors,
    versions: [...new Set(apiVersions(recorder.requests, /^\/sip$/))],
  };
});
