// Rooms: create, get, update, participants, list across pages (the SDK GETs nextLink as the
// server wrote it), delete, and the errors an app sees.
import { RoomsClient } from "@azure/communication-rooms";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { connectionString, collect, firstPageQuery, pageSizes, requestRecorder, run } from "./harness.mjs";

const DAY = 24 * 3600 * 1000;

async function statusOf(promise) {
  try {
    await promise;
    return 200;
  } catch (error) {
    return { status: error.statusCode, code: error.code, message: error.message };
  }
}

function roster(participants) {
  return Object.fromEntries(participants.map((p) => [p.id.communicationUserId, p.role]));
}

await run(async () => {
  const recorder = requestRecorder();
  const rooms = new RoomsClient(connectionString, recorder.options);
  const paged = new RoomsClient(connectionString, {
    additionalPolicies: [...recorder.options.additionalPolicies, firstPageQuery({ maxPageSize: "2" })],
  });
  const identity = new CommunicationIdentityClient(connectionString);
  const [alice, bob, carol] = await Promise.all([1, 2, 3].map(() => identity.createUser()));

  const validFrom = new Date(Date.now() + 3600 * 1000);
  const validUntil = new Date(Date.now() + 30 * DAY);
  const created = await rooms.createRoom({
    validFrom,
    validUntil,
    pstnDialOutEnabled: true,
    participants: [{ id: alice, role: "Presenter" }, { id: bob }],
  });
  const fetched = await rooms.getRoom(created.id);
  const later = new Date(Date.now() + 60 * DAY);
  const updated = await rooms.updateRoom(created.id, { validFrom, validUntil: later });
  const toggled = await rooms.updateRoom(created.id, { pstnDialOutEnabled: false });

  await rooms.addOrUpdateParticipants(created.id, [
    { id: alice, role: "Consumer" },
    { id: carol, role: "Collaborator" },
  ]);
  const participants = roster(await collect(rooms.listParticipants(created.id)));
  const participantPages = await pageSizes(paged.listParticipants(created.id));
  await rooms.removeParticipants(created.id, [bob]);
  const afterRemoval = roster(await collect(rooms.listParticipants(created.id)));

  const made = [];
  for (let i = 0; i < 4; i++) made.push((await rooms.createRoom()).id);
  const listed = (await collect(paged.listRooms())).map((room) => room.id);
  const roomPages = await pageSizes(paged.listRooms());

  await rooms.deleteRoom(created.id);
  return {
    created: {
      id: created.id,
      validFrom: created.validFrom.getTime(),
      validUntil: created.validUntil.getTime(),
      pstnDialOutEnabled: created.pstnDialOutEnabled,
      createdOnIsPast: created.createdOn.getTime() <= Date.now(),
    },
    sentFrom: validFrom.getTime(),
    sentUntil: validUntil.getTime(),
    sentLater: later.getTime(),
    fetchedSame: JSON.stringify(fetched) === JSON.stringify(created),
    updated: { validUntil: updated.validUntil.getTime(), pstnDialOutEnabled: updated.pstnDialOutEnabled },
    toggled: { validUntil: toggled.validUntil.getTime(), pstnDialOutEnabled: toggled.pstnDialOutEnabled },
    users: { alice: alice.communicationUserId, bob: bob.communicationUserId, carol: carol.communicationUserId },
    participants,
    participantPages,
    afterRemoval,
    made,
    listed,
    roomPages,
    gone: await statusOf(rooms.getRoom(created.id)),
    backwards: await statusOf(rooms.createRoom({ validFrom: later, validUntil })),
    badId: await statusOf(rooms.getRoom("not-a-room")),
    listings: recorder.requests
      .filter((r) => r.method === "GET" && new URL(r.url).pathname.endsWith("/rooms"))
      .map((r) => ({ query: Object.fromEntries(new URL(r.url).searchParams), status: r.status })),
  };
});
