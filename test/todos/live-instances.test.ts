// Live streams on real service processes (`bun src/index.ts`), over real sockets: changes written through one
// instance reach streams on another, a dropped listening session loses nothing, a stream ends when its bearer
// token expires, and shutdown does not wait on streams.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { SignJWT } from "jose";
import { MAX_PAGE_LIMIT, type Todo, type TodoChange } from "../../src/todos/model";
import { decodeSyncToken } from "../../src/todos/sync-token";
import { createServerDatabase, neonRelay, type TestDatabase, testDriver } from "../support/database";
import { type ChangeEvent, eventReader } from "../support/event-stream";
import { type Service, startService } from "../support/service";

type Auth = Record<string, string>;
type Stream = ReturnType<typeof eventReader>;
/** One page of the feed from the start, one change a page: each todo's last change and the token after it. */
type FeedEntry = { id: string; change: TodoChange };

/** Generous: "arrives at all", never a speed measurement (the bench measures speed). */
const ARRIVES_WITHIN_MS = 10_000;
const onServer = testDriver !== "pglite";
if (!onServer) {
  console.log(
    "live-instances: the tests across instances and of a dropped listening session are skipped: they need two processes on one Postgres server (set TEST_DATABASE_URL); embedded PGlite belongs to one process",
  );
}

let database: TestDatabase | undefined;
const spawned: Service[] = [];

beforeAll(async () => {
  if (onServer) database = await createServerDatabase();
}, 60_000);

afterAll(async () => {
  for (const service of spawned) {
    if (service.child.exitCode === null) service.child.kill("SIGKILL");
    await service.child.exited;
  }
  await database?.drop();
});

/** Where a spawned service keeps its todos: this file's own database on the server, or an embedded one of its own. */
function databaseEnv(): Record<string, string> {
  const url = database?.config.database.url;
  if (!url) return { PGLITE_DATA_DIR: "memory://" };
  return { DATABASE_URL: url, DATABASE_DRIVER: testDriver, ...(testDriver === "neon" && { NEON_WS_PROXY: neonRelay().proxy }) };
}

async function spawn(env: Record<string, string> = {}): Promise<Service> {
  const service = await startService({ ...databaseEnv(), ...env });
  spawned.push(service);
  await service.ready();
  return service;
}

const asUser = (user: string): Auth => ({ "x-user-id": user });

async function call(service: Service, auth: Auth, method: string, path: string, body?: unknown) {
  const response = await fetch(`${service.base}${path}`, {
    method,
    headers: { ...auth, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** A write as a device makes it; resolves once its 2xx is in, with the change a stream should then show. */
async function write(service: Service, auth: Auth, method: "POST" | "PATCH" | "DELETE", id?: string): Promise<TodoChange> {
  if (method === "DELETE") {
    const reply = await call(service, auth, "DELETE", `/api/v1/todos/${id}`);
    expect(reply.status).toBe(204);
    return { type: "delete", id: id as string };
  }
  const reply =
    method === "POST"
      ? await call(service, auth, "POST", "/api/v1/todos", { title: `written through ${service.base}` })
      : await call(service, auth, "PATCH", `/api/v1/todos/${id}`, { title: `renamed through ${service.base}`, is_completed: true });
  expect(reply.status).toBe(method === "POST" ? 201 : 200);
  return { type: "upsert", todo: reply.json as Todo };
}

/**
 * A device's writes: creates, renames and deletes of its own todos, `count` in all. `onWritten` sees each
 * change once its 2xx is in.
 */
async function writeSome(service: Service, auth: Auth, count: number, onWritten?: (change: TodoChange, at: number) => Promise<void>) {
  const mine: string[] = [];
  for (let i = 0; i < count; i++) {
    const [oldest] = mine;
    let change: TodoChange;
    if (oldest && i % 5 === 4) change = await write(service, auth, "DELETE", mine.shift());
    else if (oldest && i % 3 === 1) change = await write(service, auth, "PATCH", oldest);
    else change = await write(service, auth, "POST");
    const at = performance.now();
    if (change.type === "upsert" && !mine.includes(change.todo.id)) mine.push(change.todo.id);
    await onWritten?.(change, at);
  }
}

async function openStream(service: Service, auth: Auth, lastEventId?: string): Promise<Stream> {
  const response = await fetch(`${service.base}/api/v1/todos/events`, {
    headers: { ...auth, ...(lastEventId !== undefined && { "last-event-id": lastEventId }) },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  return eventReader(response);
}

function positionOf(token: string): number {
  const position = decodeSyncToken(token)?.position;
  if (position === undefined) throw new Error(`not a sync token: ${token}`);
  return position;
}

/** Waits until `done` holds for the stream's events (or the stream ends, or ARRIVES_WITHIN_MS pass); whether it holds. */
async function waitUntil(stream: Stream, done: (events: ChangeEvent[]) => boolean): Promise<boolean> {
  const deadline = Date.now() + ARRIVES_WITHIN_MS;
  while (!done(stream.events) && !stream.ended && Date.now() < deadline) {
    await stream.waitFor(stream.events.length + 1, deadline - Date.now());
  }
  return done(stream.events);
}

const reached = (token: string) => (events: ChangeEvent[]) => {
  const last = events.at(-1);
  return last !== undefined && positionOf(last.id) >= positionOf(token);
};

/** The user's whole feed, read afterwards one change a page, so each change comes with the token after it. */
async function feedOf(service: Service, auth: Auth): Promise<FeedEntry[]> {
  const feed: FeedEntry[] = [];
  let since = "";
  for (;;) {
    const page = await call(service, auth, "GET", `/api/v1/todos/changes?limit=1${since && `&since=${since}`}`);
    expect(page.status).toBe(200);
    const [change] = page.json.changes as TodoChange[];
    if (change) feed.push({ id: page.json.next_since, change });
    since = page.json.next_since;
    if (!page.json.has_more) return feed;
  }
}

const todoIdOf = (change: TodoChange) => (change.type === "upsert" ? change.todo.id : change.id);

/**
 * A stream opened before the user's first change shows exactly the feed: each change once, in feed order, with
 * the feed's token as its id. A change the stream missed for good (its todo's last), one sent twice, another
 * user's, or one out of order, each makes them differ.
 */
function expectSameAsFeed(events: ChangeEvent[], feed: FeedEntry[]) {
  expect(events.every((event) => event.event === "change")).toBe(true);
  const positions = events.map((event) => positionOf(event.id));
  expect(positions).toEqual([...new Set(positions)].sort((a, b) => a - b));
  // Each todo as the stream last showed it: Map keeps the order of the last set.
  const last = new Map<string, FeedEntry>();
  for (const { id, change } of events) {
    last.delete(todoIdOf(change));
    last.set(todoIdOf(change), { id, change });
  }
  expect([...last.values()]).toEqual(feed);
}

/** The todos a device holds after applying the events in order. */
function applied(events: ChangeEvent[]): Todo[] {
  const device = new Map<string, Todo>();
  for (const { change } of events) {
    if (change.type === "upsert") device.set(change.todo.id, change.todo);
    else device.delete(change.id);
  }
  return [...device.values()].sort((a, b) => a.id.localeCompare(b.id));
}

async function listed(service: Service, auth: Auth): Promise<Todo[]> {
  const todos: Todo[] = [];
  let cursor: string | null = null;
  do {
    const page = await call(service, auth, "GET", `/api/v1/todos?limit=${MAX_PAGE_LIMIT}${cursor ? `&cursor=${cursor}` : ""}`);
    todos.push(...(page.json.items as Todo[]));
    cursor = page.json.next_cursor;
  } while (cursor);
  return todos.sort((a, b) => a.id.localeCompare(b.id));
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

describe.skipIf(!onServer)(`two instances on one database (${testDriver} driver)`, () => {
  let a: Service;
  let b: Service;
  let admin: SQL;
  let databaseName: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([spawn(), spawn()]);
    const url = database?.config.database.url as string;
    databaseName = new URL(url).pathname.slice(1);
    admin = new SQL({ url, max: 1 });
  }, 60_000);

  afterAll(() => admin?.close());

  /** The sessions LISTENing on this file's database (the instances' listeners), by pid. */
  const listeners = async () =>
    (await admin`select pid from pg_stat_activity where datname = ${databaseName} and query ilike 'listen%'`).map(
      (row: { pid: number }) => row.pid,
    ) as number[];

  test("writes through one instance, then through both at once by several users, reach every stream on the other: each exactly its user's feed", async () => {
    const users = Array.from({ length: 4 }, () => crypto.randomUUID());
    // Streams on B (two devices for the first user), and on A for writes through B.
    const onB = await Promise.all(users.map((user) => openStream(b, asUser(user))));
    const secondDevice = await openStream(b, asUser(users[0] as string));
    const onA = await Promise.all(users.map((user) => openStream(a, asUser(user))));

    // One write at a time through A: each reaches its user's stream on B; how long after its 2xx, for information.
    const latencies: number[] = [];
    for (const [i, user] of users.entries()) {
      await writeSome(a, asUser(user), 25, async (change, at) => {
        const stream = onB[i] as Stream;
        const arrived = await waitUntil(stream, (events) => events.some((event) => Bun.deepEquals(event.change, change)));
        latencies.push(performance.now() - at);
        expect({ arrived, change }).toEqual({ arrived: true, change });
      });
    }
    latencies.sort((x, y) => x - y);
    console.log(
      `live-instances (${testDriver}): write 2xx through A → event on B, ${latencies.length} writes one at a time: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
    );

    // Then every user writes through both instances at once.
    await Promise.all(users.flatMap((user) => [writeSome(a, asUser(user), 15), writeSome(b, asUser(user), 15)]));

    for (const [i, user] of users.entries()) {
      const feed = await feedOf(a, asUser(user));
      const last = feed.at(-1)?.id as string;
      const streams = [onB[i], onA[i], ...(i === 0 ? [secondDevice] : [])] as Stream[];
      for (const stream of streams) {
        expect(await waitUntil(stream, reached(last))).toBe(true);
        expectSameAsFeed(stream.events, feed);
      }
      expect(applied((onB[i] as Stream).events)).toEqual(await listed(b, asUser(user)));
    }
    await Promise.all([...onB, secondDevice, ...onA].map((stream) => stream.cancel()));
  }, 120_000);

  test("the listening sessions are cut again and again while changes are written: streams catch up from the feed once back, nothing lost, nothing twice", async () => {
    const user = asUser(crypto.randomUUID());
    const stream = await openStream(b, user);
    const first = await write(a, user, "POST");
    expect(await waitUntil(stream, (events) => events.some((event) => Bun.deepEquals(event.change, first)))).toBe(true);
    const before = await listeners();
    // B's at least: it listens from its first stream on.
    expect(before.length).toBeGreaterThanOrEqual(1);

    // Each write right after the listeners are cut (those back already, too): its announcement finds no one
    // listening on B, which takes a few hundred ms to listen again.
    let cut = 0;
    let todo = first.type === "upsert" ? first.todo.id : "";
    for (let i = 0; i < 8; i++) {
      cut += (await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${databaseName} and query ilike 'listen%'`)
        .length;
      if (i === 7) await write(a, user, "DELETE", todo);
      else if (i % 2 === 0) await write(a, user, "PATCH", todo);
      else {
        const created = await write(a, user, "POST");
        if (created.type === "upsert") todo = created.todo.id;
      }
    }
    expect(cut).toBeGreaterThanOrEqual(before.length);

    // The instances listen again, on new sessions, by themselves.
    const deadline = Date.now() + ARRIVES_WITHIN_MS;
    let after = await listeners();
    while (!(after.length >= before.length && after.every((pid) => !before.includes(pid))) && Date.now() < deadline) {
      await Bun.sleep(50);
      after = await listeners();
    }
    expect(after.filter((pid) => !before.includes(pid)).length).toBeGreaterThanOrEqual(before.length);

    // With nothing written since, the stream has what was written while nobody listened.
    const missed = await feedOf(a, user);
    expect(await waitUntil(stream, reached(missed.at(-1)?.id as string))).toBe(true);
    expectSameAsFeed(stream.events, missed);

    // And it goes on live.
    await writeSome(a, user, 6);
    const feed = await feedOf(a, user);
    expect(await waitUntil(stream, reached(feed.at(-1)?.id as string))).toBe(true);
    expectSameAsFeed(stream.events, feed);
    expect(applied(stream.events)).toEqual(await listed(b, user));
    await stream.cancel();
  }, 120_000);
});

describe("a stream ends when its bearer token expires", () => {
  const SECRET = "a-test-secret-of-at-least-32-bytes!";
  const key = new TextEncoder().encode(SECRET);
  const sign = (sub: string, expiresAtS: number) =>
    new SignJWT({ sub }).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime(expiresAtS).sign(key);
  const bearer = (token: string): Auth => ({ authorization: `Bearer ${token}` });
  const nowS = () => Math.floor(Date.now() / 1000);

  test("a token expiring in about 2 s ends the stream soon after; a fresh token and Last-Event-ID resume it, without gap or repeat", async () => {
    const service = await spawn({ AUTH_JWT_SECRET: SECRET });
    const subject = crypto.randomUUID();
    const expiresAtS = nowS() + 2;
    const shortLived = bearer(await sign(subject, expiresAtS));
    const stream = await openStream(service, shortLived);
    // Another caller's stream, on a token good for minutes, opened at the same time.
    const lasting = await openStream(service, bearer(await sign(crypto.randomUUID(), nowS() + 300)));
    const before = await write(service, shortLived, "POST");
    expect((await stream.waitFor(1)).map((event) => event.change)).toEqual([before]);

    expect(await stream.waitForEnd(expiresAtS * 1000 - Date.now() + ARRIVES_WITHIN_MS)).toBe(true);
    expect(lasting.ended).toBe(false);
    await lasting.cancel();

    const fresh = bearer(await sign(subject, nowS() + 300));
    const missed = await write(service, fresh, "PATCH", before.type === "upsert" ? before.todo.id : "");
    const resumed = await openStream(service, fresh, stream.events.at(-1)?.id);
    const live = await write(service, fresh, "POST");
    expect((await resumed.waitFor(2)).map((event) => event.change)).toEqual([missed, live]);
    expectSameAsFeed([...stream.events, ...resumed.events], await feedOf(service, fresh));
    await resumed.cancel();

    // Reconnecting with the token that ended the stream (as a client retrying by itself would) is told to take a
    // fresh one, rather than answered with a stream that ends at once, again and again.
    const stale = await fetch(`${service.base}/api/v1/todos/events`, {
      headers: { ...shortLived, "last-event-id": resumed.events.at(-1)?.id ?? "" },
    });
    expect({ status: stale.status, body: await stale.text() }).toMatchObject({
      status: 401,
      body: expect.stringContaining("TOKEN_EXPIRED"),
    });
  }, 60_000);
});

describe("shutdown does not wait on streams", () => {
  test("SIGTERM with streams open: their bodies end and the process exits 0, long before SHUTDOWN_TIMEOUT_MS", async () => {
    const service = await spawn({ SHUTDOWN_TIMEOUT_MS: "20000" });
    const [alice, bob] = [asUser(crypto.randomUUID()), asUser(crypto.randomUUID())];
    const streams = await Promise.all([openStream(service, alice), openStream(service, alice), openStream(service, bob)]);
    const written = await write(service, alice, "POST");
    for (const stream of streams.slice(0, 2)) expect((await stream.waitFor(1)).map((event) => event.change)).toEqual([written]);

    service.child.kill("SIGTERM");
    // Half of SHUTDOWN_TIMEOUT_MS: a shutdown that waited on the streams would still be running.
    const exited = await Promise.race([service.child.exited, Bun.sleep(ARRIVES_WITHIN_MS).then(() => "still running")]);
    expect(exited).toBe(0);
    for (const stream of streams) expect(await stream.waitForEnd(1000)).toBe(true);
    expect(service.output()).not.toContain("shutdown timeout reached");
    expect(service.output()).toContain('"msg":"stopped"');
  }, 60_000);
});
