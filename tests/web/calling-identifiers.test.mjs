// The browser calling SDK's identifiers: users and phones as ACS's common package spells them.
import { test } from "node:test";
import assert from "node:assert/strict";

import { fromWire, rawIdOf, toWire } from "../../src/switchboard/web/calling-events.js";

test("a user on the wire is a communicationUser identifier", () => {
  const user = fromWire({ rawId: "8:acs:r_1", communicationUser: { id: "8:acs:r_1" } });
  assert.deepEqual(user, { kind: "communicationUser", communicationUserId: "8:acs:r_1" });
  assert.equal(rawIdOf(user), "8:acs:r_1");
  assert.deepEqual(toWire(user), { rawId: "8:acs:r_1", communicationUser: { id: "8:acs:r_1" } });
});

test("a phone in a server call is a phoneNumber identifier, not a user", () => {
  const phone = fromWire({ rawId: "4:+14255550123", phoneNumber: { value: "+14255550123" } });
  assert.deepEqual(phone, { kind: "phoneNumber", phoneNumber: "+14255550123", rawId: "4:+14255550123" });
  assert.equal(rawIdOf(phone), "4:+14255550123");
});

test("an identifier with only a rawId (the app calling) stays a user-like identifier", () => {
  assert.deepEqual(fromWire({ rawId: "28:acs:switchboard-call-automation" }), {
    kind: "communicationUser",
    communicationUserId: "28:acs:switchboard-call-automation",
  });
});
