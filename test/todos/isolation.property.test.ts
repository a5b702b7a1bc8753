// Model-based property test of user isolation: three users create, list, read, change and delete
// todos in random order, often aiming at each other's ids, and after every step each answer and
// each user's list must match a plain in-memory model. Changes may carry If-Match (current, out of
// date, or `*`), and creates may carry an Idempotency-Key and be retried, by the same user or another.
// Each user also has a device that syncs through the change feed or the live stream, from where it got to
// or from a token another user was given, and must then hold exactly the user's todos.
import { expect, test } from "bun:test";
import fc from "fast-check";
import type { TodoChange } from "../../src/todos/model";
import { decodeSyncToken } from "../../src/todos/sync-token";
import { callerHeaders, newUserId, testClient } from "../support/api";
import { eventReader } from "../support/event-stream";

const api = testClient();

const RUNS = 400;
const MAX_ACTIONS = 20;
const MIN_TOTAL_STEPS = 2000;

// ---- the model ----

type Priority = "High" | "Medium" | "Low";
type Fields = { title: string; description: string | null; is_completed: boolean; priority: Priority };
// created_at is chosen by the server; the model keeps the value the create answered with, so a
// later change to it (or a list in another order) is still caught.
// updated_at and the ETag are chosen by the server too; the model checks that they move on every change.
type ModelTodo = Fields & { owner: string; created_at: string; updated_at: string; etag: string; previousEtag?: string };
type Model = Map<string, ModelTodo>;

const asJson = (id: string, todo: ModelTodo) => ({
  id,
  title: todo.title,
  description: todo.description,
  is_completed: todo.is_completed,
  priority: todo.priority,
  created_at: todo.created_at,
  updated_at: todo.updated_at,
  user_id: todo.owner,
});

const descending = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

// The list contract: newest first, ties broken by id descending. Lower-case UUID strings sort
// like Postgres sorts uuid values, so the exact order can be checked, ties included.
function expectedItems(model: Model, user: string, completed?: boolean) {
  return [...model]
    .filter(([, todo]) => todo.owner === user && (completed === undefined || todo.is_completed === completed))
    .sort(([idA, a], [idB, b]) => descending(a.created_at, b.created_at) || descending(idA, idB))
    .map(([id, todo]) => asJson(id, todo));
}

// Runs hold at most MAX_ACTIONS todos per user, fewer than the default page of 50: one page, no cursor.
function expectedList(model: Model, user: string) {
  const items = expectedItems(model, user);
  return { items, count: items.length, total: items.length, next_cursor: null };
}

// ---- the actions ----

// An id created earlier in the run, by any user (picked modulo the ids known when the action
// runs, since ids only exist at run time), or one that never existed.
type Target = { earlier: number } | { missing: string };
type Changes = Partial<Fields>;
type CreateBody = { title: string; description?: string | null; priority?: Priority };
type Precondition = "current" | "previous" | "any";
type Action =
  | { op: "create"; user: number; body: CreateBody; key?: number }
  | { op: "retry"; user: number; of: number }
  | { op: "list"; user: number }
  | { op: "page"; user: number; limit: number; completed?: boolean; cursorOf?: number }
  | { op: "get"; user: number; target: Target }
  | { op: "update"; user: number; target: Target; changes: Changes; ifMatch?: Precondition }
  | { op: "delete"; user: number; target: Target; ifMatch?: Precondition }
  | { op: "sync"; user: number; limit: number; live: boolean; tokenOf?: number };

// Valid text only: this test is about who sees what, not validation.
const title = fc
  .oneof(
    { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 40 }) },
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
  )
  .filter((text) => text.trim() !== "");
const descriptionUnit = fc.oneof(
  { weight: 9, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
  fc.constantFrom("\t", "\n", "\r"),
);
const description = fc.oneof(fc.constant(null), fc.string({ unit: descriptionUnit, maxLength: 60 }));

const priority = fc.constantFrom<Priority>("High", "Medium", "Low");
const user = fc.integer({ min: 0, max: 2 });
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 4, arbitrary: fc.nat().map((earlier) => ({ earlier })) },
  fc.uuid().map((missing) => ({ missing })),
);
const changes: fc.Arbitrary<Changes> = fc
  .record({ title, description, is_completed: fc.boolean(), priority }, { requiredKeys: [] })
  .filter((patch) => Object.keys(patch).length > 0);

const ifMatch = fc.constantFrom<Precondition>("current", "previous", "any");

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record(
    { op: fc.constant("create"), user, body: fc.record({ title, description, priority }, { requiredKeys: ["title"] }), key: fc.nat(3) },
    { requiredKeys: ["op", "user", "body"] },
  ),
  // The same keyed request again (an earlier one, by any user): the first create's answer, or a new todo for another user.
  fc.record({ op: fc.constant("retry"), user, of: fc.nat() }),
  fc.record({ op: fc.constant("list"), user }),
  // A walk in small pages, maybe filtered, maybe starting from a cursor another user was given.
  fc.record(
    { op: fc.constant("page"), user, limit: fc.integer({ min: 1, max: 4 }), completed: fc.boolean(), cursorOf: user },
    { requiredKeys: ["op", "user", "limit"] },
  ),
  fc.record({ op: fc.constant("get"), user, target }),
  fc.record({ op: fc.constant("update"), user, target, changes, ifMatch }, { requiredKeys: ["op", "user", "target", "changes"] }),
  fc.record({ op: fc.constant("delete"), user, target, ifMatch }, { requiredKeys: ["op", "user", "target"] }),
  // A device catching up, through the feed in small pages or the live stream; maybe from a token another user was given.
  fc.record(
    { op: fc.constant("sync"), user, limit: fc.integer({ min: 1, max: 4 }), live: fc.boolean(), tokenOf: user },
    { requiredKeys: ["op", "user", "limit", "live"] },
  ),
);

// ---- running actions against the API and the model ----

type Response = Awaited<ReturnType<typeof api.call>>;

const headersOf = (response: Response) => [...response.headers.entries()].filter(([name]) => name !== "x-request-id");

/** Another user's todo must be indistinguishable from one that never existed. */
async function expectAnswersLikeMissing(response: Response, askAbout: (id: string) => Promise<Response>) {
  const neverExisted = await askAbout(crypto.randomUUID());
  expect(neverExisted.status).toBe(404);
  expect(neverExisted.json.error_code).toBe("NOT_FOUND");
  expect(response.status).toBe(404);
  expect(response.text).toBe(neverExisted.text);
  expect(headersOf(response)).toEqual(headersOf(neverExisted));
}

/** A change made with an out-of-date If-Match is refused, and (checked by the lists after each step) changes nothing. */
function expectPreconditionFailed(response: Response) {
  expect(response.status).toBe(412);
  expect(response.json.error_code).toBe("PRECONDITION_FAILED");
}

function newRun() {
  const users = [newUserId(), newUserId(), newUserId()];
  const model: Model = new Map();
  const createdIds: string[] = []; // deleted ones included: they must stay gone
  // Keys are small numbers shared by all users, so the same key is often used by several: a key is per user.
  const keyed: { user: string; key: string; body: CreateBody; answer: unknown }[] = [];
  const keySuffix = crypto.randomUUID();
  // Each user's changes so far: the position their change feed has reached.
  const positions = new Map<string, number>();
  const changed = (user: string) => positions.set(user, (positions.get(user) ?? 0) + 1);

  const sameRequest = (a: CreateBody, b: CreateBody) =>
    a.title === b.title && (a.description ?? null) === (b.description ?? null) && (a.priority ?? "Medium") === (b.priority ?? "Medium");

  /** A create, keyed or not, checked against the model; returns nothing, records everything. */
  async function create(caller: string, body: CreateBody, key?: string) {
    const { status, json, headers } = await api.call("POST", "/api/v1/todos", {
      user: caller,
      body,
      headers: key === undefined ? {} : { "idempotency-key": key },
    });
    const earlier = key === undefined ? undefined : keyed.find((each) => each.user === caller && each.key === key);
    if (earlier && !sameRequest(earlier.body, body)) {
      expect(status).toBe(422);
      expect(json.error_code).toBe("IDEMPOTENCY_KEY_REUSED");
      return;
    }
    expect(status).toBe(201);
    if (earlier) {
      // The first answer again, even if the todo changed or went since; nothing new is made.
      expect(json).toEqual(earlier.answer);
      expect(headers.get("idempotent-replayed")).toBe("true");
      return;
    }
    const todo: ModelTodo = {
      owner: caller,
      title: body.title,
      description: body.description ?? null,
      is_completed: false,
      priority: body.priority ?? "Medium",
      created_at: json.created_at,
      updated_at: json.created_at,
      etag: headers.get("etag") ?? "",
    };
    expect(json).toEqual(asJson(json.id, todo));
    expect(todo.etag).toMatch(/^"[^"]+"$/);
    expect(json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(json.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(model.has(json.id)).toBe(false);
    model.set(json.id, todo);
    changed(caller);
    createdIds.push(json.id);
    if (key !== undefined) keyed.push({ user: caller, key, body, answer: json });
  }

  /** The If-Match header a change sends: the ETag the caller would hold, an out-of-date one, or `*`. */
  function preconditionHeaders(ifMatch: Precondition | undefined, todo: ModelTodo | undefined, id: string): Record<string, string> {
    if (ifMatch === undefined) return {};
    if (ifMatch === "any") return { "if-match": "*" };
    if (ifMatch === "current") return { "if-match": todo?.etag ?? `"${id}.1"` };
    // Never updated: a weak tag of the current version, which If-Match's strong comparison never matches.
    return { "if-match": todo?.previousEtag ?? `W/${todo?.etag ?? `"${id}.1"`}` };
  }

  const idOf = (target: Target) => {
    if ("missing" in target) return target.missing;
    return createdIds[target.earlier % createdIds.length] ?? crypto.randomUUID();
  };

  async function apply(action: Action) {
    const caller = users[action.user] as string;
    if (action.op === "create") return create(caller, action.body, action.key === undefined ? undefined : `key-${action.key}-${keySuffix}`);
    if (action.op === "retry") {
      const earlier = keyed[action.of % Math.max(1, keyed.length)];
      return earlier ? create(caller, earlier.body, earlier.key) : undefined;
    }
    if (action.op === "list") {
      const { status, json } = await api.list(caller);
      expect(status).toBe(200);
      expect(json).toEqual(expectedList(model, caller));
      return;
    }

    if (action.op === "page") return walkPages(caller, action);
    if (action.op === "sync") return sync(action.user, action);

    const id = idOf(action.target);
    const todo = model.get(id);
    const own = todo?.owner === caller ? todo : undefined;
    switch (action.op) {
      case "get": {
        const response = await api.get(caller, id);
        if (!own) return expectAnswersLikeMissing(response, (other) => api.get(caller, other));
        expect(response.status).toBe(200);
        expect(response.json).toEqual(asJson(id, own));
        expect(response.headers.get("etag")).toBe(own.etag);
        return;
      }
      case "update": {
        // Aimed at another user's todo, the header is that todo's real ETag: it must not help.
        const headers = preconditionHeaders(action.ifMatch, todo, id);
        const send = (to: string) => api.call("PATCH", `/api/v1/todos/${to}`, { user: caller, body: action.changes, headers });
        const response = await send(id);
        if (!own) return expectAnswersLikeMissing(response, send);
        if (action.ifMatch === "previous") return expectPreconditionFailed(response);
        const updated = { ...own, ...action.changes, updated_at: response.json.updated_at };
        expect(response.status).toBe(200);
        expect(response.json).toEqual(asJson(id, updated));
        expect(response.json.updated_at >= own.updated_at).toBe(true);
        const etag = response.headers.get("etag") ?? "";
        expect(etag).not.toBe(own.etag);
        model.set(id, { ...updated, etag, previousEtag: own.etag });
        changed(caller);
        return;
      }
      case "delete": {
        const headers = preconditionHeaders(action.ifMatch, todo, id);
        const send = (to: string) => api.call("DELETE", `/api/v1/todos/${to}`, { user: caller, headers });
        const response = await send(id);
        if (!own) return expectAnswersLikeMissing(response, send);
        if (action.ifMatch === "previous") return expectPreconditionFailed(response);
        expect(response.status).toBe(204);
        expect(response.text).toBe("");
        model.delete(id);
        changed(caller);
        return;
      }
    }
  }

  /**
   * Every page in turn: together they are the model's list, filtered, in order, each page at most
   * `limit` long. A first cursor taken from another user's first page is only a position: the walk
   * then holds the caller's own todos older than it, and nothing of the other user's.
   */
  async function walkPages(caller: string, { limit, completed, cursorOf }: Extract<Action, { op: "page" }>) {
    const filter = completed === undefined ? "" : `&completed=${completed}`;
    let expected = expectedItems(model, caller, completed);
    let cursor: string | null = null;
    if (cursorOf !== undefined) {
      const lender = users[cursorOf] as string;
      const lent = await api.list(lender, `limit=1${filter}`);
      cursor = lent.json.next_cursor;
      if (cursor === null) return;
      const position = lent.json.items[0];
      expected = expected.filter(
        (todo) =>
          descending(todo.created_at, position.created_at) > 0 || (todo.created_at === position.created_at && todo.id < position.id),
      );
    }
    const seen = [];
    do {
      const { status, json, headers } = await api.list(caller, `limit=${limit}${filter}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(status).toBe(200);
      expect(json.count).toBe(json.items.length);
      expect(json.count).toBeLessThanOrEqual(limit);
      expect(headers.has("link")).toBe(json.next_cursor !== null);
      seen.push(...json.items);
      cursor = json.next_cursor;
    } while (cursor);
    expect(seen).toEqual(expected);
  }

  // Each user's device: their todos as synced, and the token it got to.
  const devices = users.map(() => ({ todos: new Map<string, unknown>(), since: undefined as string | undefined }));

  /**
   * The device catches up from its token, through the feed or the stream, and then holds exactly the model's
   * todos of its user. From another user's token, a new device gets nothing of that user's.
   */
  async function sync(index: number, { limit, live, tokenOf }: Extract<Action, { op: "sync" }>) {
    const caller = users[index] as string;
    const lent = tokenOf !== undefined && tokenOf !== index ? devices[tokenOf]?.since : undefined;
    const device = lent ? { todos: new Map<string, unknown>(), since: lent } : (devices[index] as (typeof devices)[number]);
    const applied: TodoChange[] = [];
    // A token past the caller's own last change is refused: the device would wait for changes it never gets.
    if (lent && (decodeSyncToken(lent)?.position ?? 0) > (positions.get(caller) ?? 0)) {
      const { status, json } = await api.call("GET", `/api/v1/todos/changes?since=${lent}`, { user: caller });
      expect([status, json.error_code]).toEqual([410, "SYNC_TOKEN_EXPIRED"]);
      return;
    }
    for (;;) {
      const query = `limit=${limit}${device.since ? `&since=${device.since}` : ""}`;
      const { status, json } = await api.call("GET", `/api/v1/todos/changes?${query}`, { user: caller });
      expect(status).toBe(200);
      expect(json.changes.length).toBeLessThanOrEqual(limit);
      if (live) {
        // The stream from the same token sends the same changes, with the same ids.
        const response = await api.app.handle(
          new Request(`http://localhost/api/v1/todos/events${device.since ? `?since=${device.since}` : ""}`, {
            headers: await callerHeaders(caller),
          }),
        );
        const stream = eventReader(response);
        const events = await stream.waitFor(json.changes.length);
        await stream.cancel();
        expect(events.slice(0, json.changes.length).map((event) => event.change)).toEqual(json.changes.slice(0, events.length));
      }
      applied.push(...json.changes);
      device.since = json.next_since;
      if (!json.has_more) break;
    }
    for (const change of applied) {
      if (change.type === "upsert") device.todos.set(change.todo.id, change.todo);
      else device.todos.delete(change.id);
    }
    const mine = new Map(expectedItems(model, caller).map((todo) => [todo.id, todo]));
    if (!lent) return expect(device.todos).toEqual(mine);
    for (const [id, todo] of device.todos) expect(todo).toEqual(mine.get(id));
  }

  // The isolation invariant: whatever just happened, and whoever did it, each user sees exactly
  // their own todos as the model has them (so another user's failed attempt changed nothing).
  async function expectEveryListMatchesModel() {
    for (const each of users) {
      const { status, json } = await api.list(each);
      expect(status).toBe(200);
      expect(json).toEqual(expectedList(model, each));
    }
  }

  return { apply, expectEveryListMatchesModel };
}

test("no user can read, change, delete or detect another user's todos (model-based)", async () => {
  let runs = 0;
  let steps = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: MAX_ACTIONS }), fc.context(), async (actions, log) => {
      runs++;
      const run = newRun();
      for (const [index, each] of actions.entries()) {
        steps++;
        // A shrunk counterexample can keep actions after the failing one; the log shows where it stopped.
        log.log(`step ${index + 1}: ${each.op} by user ${each.user}`);
        await run.apply(each);
        await run.expectEveryListMatchesModel();
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`isolation property: ${runs} runs, ${steps} steps`);
  expect(steps).toBeGreaterThanOrEqual(MIN_TOTAL_STEPS);
}, 120_000);
