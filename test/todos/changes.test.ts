// GET /api/v1/todos/changes: a device that applies every page in order ends with exactly the server's state.
import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { TOMBSTONES_PER_USER } from "../../src/db/schema";
import type { Todo, TodoChange } from "../../src/todos/model";
import { forgetOldDeletes } from "../../src/todos/store";
import { encodeSyncToken } from "../../src/todos/sync-token";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { queryRows } from "../support/database";

const api = testClient();
const { db } = sharedDatabase().database;

type ChangePage = { changes: TodoChange[]; next_since: string; has_more: boolean };

const changes = async (user: string, query = "") => {
  const reply = await api.call("GET", `/api/v1/todos/changes${query && `?${query}`}`, { user });
  expect(reply.status).toBe(200);
  return reply.json as ChangePage;
};

/** A device: applies every page from `since` until has_more is false; returns its todos and where it got to. */
async function sync(user: string, device: Map<string, Todo>, since?: string, limit = 200) {
  for (;;) {
    const page = await changes(user, new URLSearchParams({ ...(since && { since }), limit: String(limit) }).toString());
    for (const change of page.changes) {
      if (change.type === "upsert") device.set(change.todo.id, change.todo);
      else device.delete(change.id);
    }
    since = page.next_since;
    if (!page.has_more) return since;
  }
}

/** Every todo the user has, as the list answers (all pages). */
async function serverState(user: string): Promise<Map<string, Todo>> {
  const state = new Map<string, Todo>();
  let cursor: string | null = null;
  do {
    const page: { json: { items: Todo[]; next_cursor: string | null } } = await api.list(
      user,
      `limit=200${cursor ? `&cursor=${cursor}` : ""}`,
    );
    for (const todo of page.json.items) state.set(todo.id, todo);
    cursor = page.json.next_cursor;
  } while (cursor);
  return state;
}

const created = async (user: string, title: string) => {
  const reply = await api.create(user, { title });
  expect(reply.status).toBe(201);
  return reply.json as Todo;
};

describe("the change feed", () => {
  test("from the start: every todo once, in its latest state, oldest change first; deletes as ids", async () => {
    const user = newUserId();
    const [a, b, c] = [await created(user, "a"), await created(user, "b"), await created(user, "c")];
    await api.update(user, a.id, { title: "a, renamed" });
    await api.update(user, a.id, { is_completed: true });
    expect((await api.remove(user, b.id)).status).toBe(204);
    const page = await changes(user);
    expect(page.has_more).toBe(false);
    // c was created before a's changes, b deleted after them.
    const aNow = (await api.get(user, a.id)).json;
    expect(page.changes).toEqual([
      { type: "upsert", todo: c },
      { type: "upsert", todo: aNow },
      { type: "delete", id: b.id },
    ]);
  });

  test("since a token: only what changed after it; nothing changed is an empty page with the same token", async () => {
    const user = newUserId();
    await created(user, "before");
    const { next_since } = await changes(user);
    expect(await changes(user, `since=${next_since}`)).toEqual({ changes: [], next_since, has_more: false });
    const after = await created(user, "after");
    const page = await changes(user, `since=${next_since}`);
    expect(page.changes).toEqual([{ type: "upsert", todo: after }]);
    expect(page.next_since).not.toBe(next_since);
  });

  test("limit pages the feed: has_more until the last page, and the pages join without a gap or a repeat", async () => {
    const user = newUserId();
    const todos = [];
    for (let i = 0; i < 7; i++) todos.push(await created(user, `t${i}`));
    const seen: string[] = [];
    let since: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await changes(user, `limit=3${since ? `&since=${since}` : ""}`);
      pages++;
      seen.push(...page.changes.map((change) => (change.type === "upsert" ? change.todo.id : change.id)));
      since = page.next_since;
      if (!page.has_more) break;
      expect(page.changes).toHaveLength(3);
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(todos.map((todo) => todo.id));
  });

  test("a malformed since or limit is a 400 naming the parameter, never a 500", async () => {
    const user = newUserId();
    for (const query of ["since=nonsense", "since=", `since=${"A".repeat(34)}`, "limit=0", "limit=1001", "limit=1.5", "cursor=x"]) {
      const reply = await api.call("GET", `/api/v1/todos/changes?${query}`, { user });
      expect(reply.status, query).toBe(400);
      expect(reply.json.error_code).toBe("VALIDATION_ERROR");
    }
    fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), async (text) => {
        const reply = await api.call("GET", `/api/v1/todos/changes?since=${encodeURIComponent(text)}`, { user });
        expect([200, 400]).toContain(reply.status);
      }),
      { numRuns: 200 },
    );
  });

  test("another user's token, or a forged one, shows nothing that is not the caller's", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    await created(alice, "alice's");
    const bobs = await created(bob, "bob's");
    const { next_since: alicesToken } = await changes(alice, "limit=1");
    const page = await changes(bob, `since=${alicesToken}`);
    for (const change of page.changes) expect(change.type === "upsert" && change.todo.user_id).toBe(bobs.user_id);
    const forged = encodeSyncToken({ position: 0, id: "00000000-0000-0000-0000-000000000000" });
    expect((await changes(alice, `since=${forged}`)).changes.every((c) => c.type === "upsert" && c.todo.title === "alice's")).toBe(true);
  });

  test("once deletes are forgotten, an older token is 410 SYNC_TOKEN_EXPIRED, and a sync from the start still works", async () => {
    const user = newUserId();
    const kept = await created(user, "kept");
    const { next_since: old } = await changes(user);
    const gone = await created(user, "gone");
    await api.remove(user, gone.id);
    const { next_since: recent } = await changes(user, `since=${old}`);
    // As the sweep does after SYNC_RETENTION: here, every delete so far.
    await Bun.sleep(5);
    await forgetOldDeletes(db, 0);
    const reply = await api.call("GET", `/api/v1/todos/changes?since=${old}`, { user });
    expect(reply.status).toBe(410);
    expect(reply.json).toMatchObject({ error_code: "SYNC_TOKEN_EXPIRED", status: 410 });
    expect(reply.headers.get("content-type")).toBe("application/problem+json");
    // A token past the forgotten deletes is still good; from the start, the live todos.
    expect((await changes(user, `since=${recent}`)).changes).toEqual([]);
    expect((await changes(user)).changes).toEqual([{ type: "upsert", todo: kept }]);
  });

  test("a token past the user's last change (another user's, or from before a restore) is 410: the device starts again", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    for (const title of ["one", "two", "three"]) await created(alice, title);
    const { next_since: alicesToken } = await changes(alice);
    await created(bob, "bob's only");
    const reply = await api.call("GET", `/api/v1/todos/changes?since=${alicesToken}`, { user: bob });
    expect(reply.status).toBe(410);
    expect(reply.json.error_code).toBe("SYNC_TOKEN_EXPIRED");
    const forged = encodeSyncToken({ position: 1000, id: "00000000-0000-0000-0000-000000000000" });
    expect((await api.call("GET", `/api/v1/todos/changes?since=${forged}`, { user: newUserId() })).status).toBe(410);
  });

  test("model check: devices syncing from any token, between random changes, end with exactly the server's todos", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant("create" as const),
              title: fc.string({ minLength: 1, maxLength: 8 }).filter((t) => t.trim() !== ""),
            }),
            fc.record({ op: fc.constantFrom("rename" as const, "toggle" as const, "delete" as const), pick: fc.nat() }),
            fc.record({ op: fc.constant("sync" as const), device: fc.nat({ max: 2 }), limit: fc.integer({ min: 1, max: 4 }) }),
          ),
          { maxLength: 25 },
        ),
        async (steps) => {
          const user = newUserId();
          const ids: string[] = [];
          const devices = [0, 1, 2].map(() => ({ todos: new Map<string, Todo>(), since: undefined as string | undefined }));
          for (const step of steps) {
            const id = "pick" in step && ids.length > 0 ? ids[step.pick % ids.length] : undefined;
            if (step.op === "create") ids.push((await created(user, step.title.replace(/[\p{C}]/gu, "x"))).id);
            else if (step.op === "rename" && id) await api.update(user, id, { title: `renamed ${Math.random()}` });
            else if (step.op === "toggle" && id) await api.call("PATCH", `/api/v1/todos/${id}`, { user, body: { is_completed: true } });
            else if (step.op === "delete" && id) {
              await api.remove(user, id);
              ids.splice(ids.indexOf(id), 1);
            } else if (step.op === "sync") {
              const device = devices[step.device] as (typeof devices)[number];
              device.since = await sync(user, device.todos, device.since, step.limit);
            }
          }
          const server = await serverState(user);
          for (const device of devices) {
            device.since = await sync(user, device.todos, device.since);
            expect(device.todos).toEqual(server);
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);
});

test("a user keeps at most 10,000 deletes: the next forgets the oldest, and a token from before it is 410", async () => {
  const user = newUserId();
  const first = await created(user, "first");
  const { next_since: old } = await changes(user);
  // 9,999 deletes already remembered (by SQL: 10,000 through the API would take the test's whole budget),
  // the user's row counting them and their positions, as deletes through the API would have left them.
  const stored = first.user_id;
  await db.execute(sql`insert into todo_tombstones (user_id, todo_id, change_position)
    select ${stored}::uuid, gen_random_uuid(), 1 + i from generate_series(1, ${TOMBSTONES_PER_USER - 1}::int) as i`);
  await db.execute(sql`update users set tombstone_count = ${TOMBSTONES_PER_USER - 1}, change_position = ${TOMBSTONES_PER_USER}
    where id = ${stored}`);
  const count = async () =>
    (await queryRows<{ n: number }>(db, sql`select count(*)::int as n from todo_tombstones where user_id = ${stored}`))[0]?.n;
  for (const title of ["second", "third"]) {
    expect((await api.remove(user, (await created(user, title)).id)).status).toBe(204);
    expect(await count()).toBe(TOMBSTONES_PER_USER);
  }
  expect((await api.call("GET", `/api/v1/todos/changes?since=${old}`, { user })).status).toBe(410);
  // From the start: the live todo, then every delete still remembered.
  const all = await changes(user, `limit=${1000}`);
  expect(all.changes[0]).toEqual({ type: "upsert", todo: first });
});
