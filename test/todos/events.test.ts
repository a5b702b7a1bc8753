// GET /api/v1/todos/events: the change feed, live, as server-sent events.
import { afterAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { CHANGES_CHANNEL } from "../../src/todos/announce";
import type { Todo } from "../../src/todos/model";
import { forgetOldDeletes, todoStore } from "../../src/todos/store";
import { callerHeaders, newUserId, sharedDatabase, storedId, suiteApp, testClient } from "../support/api";
import { eventReader } from "../support/event-stream";

const MAX_STREAMS_PER_USER = 3;
const app = suiteApp({ sync: { ...sharedDatabase().config.sync, maxStreamsPerUser: MAX_STREAMS_PER_USER, heartbeatS: 1 } });
const api = testClient(app);
afterAll(() => app.closeStreams());

/** Opens a stream as a client: the caller's headers as testClient sends them, the response unread. */
async function open(user: string, { query = "", headers = {} }: { query?: string; headers?: Record<string, string> } = {}) {
  return app.handle(
    new Request(`http://localhost/api/v1/todos/events${query && `?${query}`}`, {
      headers: { ...(await callerHeaders(user)), ...headers },
    }),
  );
}

const created = async (user: string, title: string) => (await api.create(user, { title })).json as Todo;

describe("live changes", () => {
  test("first what the feed holds, then each change as it happens, as `change` events with resumable ids", async () => {
    const user = newUserId();
    const before = await created(user, "before");
    const response = await open(user);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const stream = eventReader(response);
    expect((await stream.waitFor(1)).map((e) => e.change)).toEqual([{ type: "upsert", todo: before }]);
    const after = await created(user, "after");
    await api.remove(user, before.id);
    const events = await stream.waitFor(3);
    expect(events.map((e) => e.event)).toEqual(["change", "change", "change"]);
    expect(events.slice(1).map((e) => e.change)).toEqual([
      { type: "upsert", todo: after },
      { type: "delete", id: before.id },
    ]);
    // Each id is the feed's token after that change.
    const feed = await api.call("GET", `/api/v1/todos/changes?since=${events[0]?.id}`, { user });
    expect(feed.json.changes).toEqual(events.slice(1).map((e) => e.change));
    expect(feed.json.next_since).toBe(events[2]?.id);
    await stream.cancel();
  });

  test("Last-Event-ID (or since) resumes after that event: what was missed, then live, no gap and no repeat", async () => {
    const user = newUserId();
    const first = eventReader(await open(user));
    const one = await created(user, "one");
    const [seen] = await first.waitFor(1);
    await first.cancel();
    const two = await created(user, "two");
    await api.update(user, one.id, { title: "one, renamed" });
    for (const resume of [{ headers: { "last-event-id": seen?.id ?? "" } }, { query: `since=${seen?.id}` }]) {
      const stream = eventReader(await open(user, resume));
      const events = await stream.waitFor(2);
      expect(events.map((e) => e.change)).toEqual([
        { type: "upsert", todo: two },
        { type: "upsert", todo: (await api.get(user, one.id)).json },
      ]);
      await stream.cancel();
    }
  });

  test("a client that stops reading holds the stream back, and gets every change in order once it reads again", async () => {
    const user = newUserId();
    const response = await open(user);
    // Far more than the stream keeps for an unread client (64 KB): it stops reading the feed, then reads on.
    const description = "x".repeat(2000);
    const made: string[] = [];
    for (let i = 0; i < 120; i++) made.push(((await api.create(user, { title: `t${i}`, description })).json as Todo).id);
    const stream = eventReader(response);
    const events = await stream.waitFor(made.length, 15_000);
    expect(events.map((e) => (e.change.type === "upsert" ? e.change.todo.id : e.change.id))).toEqual(made);
    await stream.cancel();
  });

  test("only the caller's changes: another user's writes never reach the stream", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const stream = eventReader(await open(alice));
    await created(bob, "bob's");
    const mine = await created(alice, "alice's");
    const events = await stream.waitFor(2, 500);
    expect(events.map((e) => e.change)).toEqual([{ type: "upsert", todo: mine }]);
    await stream.cancel();
  });

  test("a change whose announcement was lost (its instance stopped right after the commit) reaches the stream by the next heartbeat", async () => {
    const user = newUserId();
    const stream = eventReader(await open(user));
    // The real store on the same database, with no one told of its changes: an instance that died before announcing.
    const silent = todoStore(sharedDatabase().database.db, (_, work) => work(), { maxTodosPerUser: 10 });
    const made = await silent.create(storedId(user), { title: "never announced" });
    if (made.outcome !== "created") throw new Error(`the create made nothing: ${made.outcome}`);
    // The heartbeat is 1 s here.
    const [event] = await stream.waitFor(1, 4_000);
    expect(event?.change).toEqual({ type: "upsert", todo: made.todo });
    await stream.cancel();
  });

  test("many users' changes are announced in one statement, each user with their last position, and heard", async () => {
    const { database } = sharedDatabase();
    const store = todoStore(database.db, (_, work) => work(), { maxTodosPerUser: 10 });
    const users = Array.from({ length: 300 }, () => crypto.randomUUID());
    for (const user of users) await store.create(user, { title: "one" });
    for (const user of users.slice(0, 100)) await store.create(user, { title: "two" });
    const heard = new Set<string>();
    const unlisten = await database.listen(
      CHANGES_CHANNEL,
      (payload) => heard.add(payload),
      () => {},
    );
    try {
      await store.announce(users);
      const expected = users.map((user, i) => `${user} ${i < 100 ? 2 : 1}`);
      for (let waited = 0; waited < 4_000 && expected.some((payload) => !heard.has(payload)); waited += 50) await Bun.sleep(50);
      expect(expected.filter((payload) => !heard.has(payload))).toEqual([]);
    } finally {
      await unlisten();
    }
  });

  test("a comment line every SSE_HEARTBEAT_S keeps an idle stream open", async () => {
    const stream = eventReader(await open(newUserId()));
    await Bun.sleep(2500);
    expect(stream.comments).toBeGreaterThanOrEqual(2);
    expect(stream.ended).toBe(false);
    await stream.cancel();
  });

  test("MAX_STREAMS_PER_USER streams per user; one more is 429 TOO_MANY_STREAMS, and a closed one frees its place", async () => {
    const user = newUserId();
    const streams = [];
    for (let i = 0; i < MAX_STREAMS_PER_USER; i++) streams.push(eventReader(await open(user)));
    const refused = await open(user);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error_code: "TOO_MANY_STREAMS" });
    expect((await open(newUserId())).status).toBe(200);
    await streams[0]?.cancel();
    await Bun.sleep(50);
    const reopened = await open(user);
    expect(reopened.status).toBe(200);
    await eventReader(reopened).cancel();
    for (const stream of streams) await stream.cancel();
  });

  test("a token whose deletes were forgotten is a 410 answer, not a stream; a malformed one is 400", async () => {
    const user = newUserId();
    const stream = eventReader(await open(user));
    const gone = await created(user, "gone");
    const [event] = await stream.waitFor(1);
    await stream.cancel();
    await api.remove(user, gone.id);
    await api.create(user, { title: "later" });
    await Bun.sleep(5);
    await forgetOldDeletes(sharedDatabase().database.db, 0);
    const expired = await open(user, { headers: { "last-event-id": event?.id ?? "" } });
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ error_code: "SYNC_TOKEN_EXPIRED" });
    const malformed = await open(user, { headers: { "last-event-id": "not-a-token" } });
    expect(malformed.status).toBe(400);
  });

  test("streams opened all at once on a new instance are held to the limit too", async () => {
    const fresh = suiteApp({ sync: { ...sharedDatabase().config.sync, maxStreamsPerUser: MAX_STREAMS_PER_USER } });
    const user = newUserId();
    const headers = await callerHeaders(user);
    const responses = await Promise.all(
      Array.from({ length: 3 * MAX_STREAMS_PER_USER }, () =>
        fresh.handle(new Request("http://localhost/api/v1/todos/events", { headers })),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(MAX_STREAMS_PER_USER);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(2 * MAX_STREAMS_PER_USER);
    await fresh.closeStreams();
  });

  test("a bearer token valid for weeks keeps its stream open (longer than a timer's longest delay)", async () => {
    const secret = new TextEncoder().encode("a-development-secret-of-32-bytes!");
    const bearer = suiteApp({ auth: { mode: "secret", secret, maxLifetimeS: 40 * 86_400 } });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: "a-subject-for-weeks" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(now)
      .setExpirationTime(now + 30 * 86_400)
      .sign(secret);
    const response = await bearer.handle(
      new Request("http://localhost/api/v1/todos/events", { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(response.status).toBe(200);
    const stream = eventReader(response);
    expect(await stream.waitForEnd(500)).toBe(false);
    await bearer.closeStreams();
  });

  test("closeStreams (shutdown) ends every stream", async () => {
    const own = suiteApp();
    const response = await own.handle(new Request("http://localhost/api/v1/todos/events", { headers: await callerHeaders(newUserId()) }));
    const stream = eventReader(response);
    await own.closeStreams();
    expect(await stream.waitForEnd(2000)).toBe(true);
  });
});
