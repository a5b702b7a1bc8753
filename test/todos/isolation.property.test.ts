// Model-based property test of user isolation: three users create, list, read, change and delete
// todos in random order, often aiming at each other's ids, and after every step each answer and
// each user's list must match a plain in-memory model.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { testClient } from "../support/api";

const api = testClient();

const RUNS = 400;
const MAX_ACTIONS = 20;
const MIN_TOTAL_STEPS = 2000;

// ---- the model ----

type Fields = { title: string; description: string | null; is_completed: boolean };
// created_at is chosen by the server; the model keeps the value the create answered with, so a
// later change to it (or a list in another order) is still caught.
type ModelTodo = Fields & { owner: string; created_at: string };
type Model = Map<string, ModelTodo>;

const asJson = (id: string, todo: ModelTodo) => ({
  id,
  title: todo.title,
  description: todo.description,
  is_completed: todo.is_completed,
  created_at: todo.created_at,
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
  return { items, count: items.length, next_cursor: null };
}

// ---- the actions ----

// An id created earlier in the run, by any user (picked modulo the ids known when the action
// runs, since ids only exist at run time), or one that never existed.
type Target = { earlier: number } | { missing: string };
type Changes = Partial<Fields>;
type Action =
  | { op: "create"; user: number; body: { title: string; description?: string | null } }
  | { op: "list"; user: number }
  | { op: "page"; user: number; limit: number; completed?: boolean; cursorOf?: number }
  | { op: "get"; user: number; target: Target }
  | { op: "update"; user: number; target: Target; changes: Changes }
  | { op: "delete"; user: number; target: Target };

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

const user = fc.integer({ min: 0, max: 2 });
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 4, arbitrary: fc.nat().map((earlier) => ({ earlier })) },
  fc.uuid().map((missing) => ({ missing })),
);
const changes: fc.Arbitrary<Changes> = fc
  .record({ title, description, is_completed: fc.boolean() }, { requiredKeys: [] })
  .filter((patch) => Object.keys(patch).length > 0);

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ op: fc.constant("create"), user, body: fc.record({ title, description }, { requiredKeys: ["title"] }) }),
  fc.record({ op: fc.constant("list"), user }),
  // A walk in small pages, maybe filtered, maybe starting from a cursor another user was given.
  fc.record(
    { op: fc.constant("page"), user, limit: fc.integer({ min: 1, max: 4 }), completed: fc.boolean(), cursorOf: user },
    { requiredKeys: ["op", "user", "limit"] },
  ),
  fc.record({ op: fc.constant("get"), user, target }),
  fc.record({ op: fc.constant("update"), user, target, changes }),
  fc.record({ op: fc.constant("delete"), user, target }),
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

function newRun() {
  const users = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  const model: Model = new Map();
  const createdIds: string[] = []; // deleted ones included: they must stay gone

  const idOf = (target: Target) => {
    if ("missing" in target) return target.missing;
    return createdIds[target.earlier % createdIds.length] ?? crypto.randomUUID();
  };

  async function apply(action: Action) {
    const caller = users[action.user] as string;
    if (action.op === "create") {
      const { status, json } = await api.create(caller, action.body);
      expect(status).toBe(201);
      const todo: ModelTodo = {
        owner: caller,
        title: action.body.title,
        description: action.body.description ?? null,
        is_completed: false,
        created_at: json.created_at,
      };
      expect(json).toEqual(asJson(json.id, todo));
      expect(json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(json.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(model.has(json.id)).toBe(false);
      model.set(json.id, todo);
      createdIds.push(json.id);
      return;
    }
    if (action.op === "list") {
      const { status, json } = await api.list(caller);
      expect(status).toBe(200);
      expect(json).toEqual(expectedList(model, caller));
      return;
    }

    if (action.op === "page") return walkPages(caller, action);

    const id = idOf(action.target);
    const todo = model.get(id);
    const own = todo?.owner === caller ? todo : undefined;
    switch (action.op) {
      case "get": {
        const response = await api.get(caller, id);
        if (!own) return expectAnswersLikeMissing(response, (other) => api.get(caller, other));
        expect(response.status).toBe(200);
        expect(response.json).toEqual(asJson(id, own));
        return;
      }
      case "update": {
        const response = await api.update(caller, id, action.changes);
        if (!own) return expectAnswersLikeMissing(response, (other) => api.update(caller, other, action.changes));
        const updated = { ...own, ...action.changes };
        expect(response.status).toBe(200);
        expect(response.json).toEqual(asJson(id, updated));
        model.set(id, updated);
        return;
      }
      case "delete": {
        const response = await api.remove(caller, id);
        if (!own) return expectAnswersLikeMissing(response, (other) => api.remove(caller, other));
        expect(response.status).toBe(204);
        expect(response.text).toBe("");
        model.delete(id);
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
      const lent = await api.list(lender, "limit=1");
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
