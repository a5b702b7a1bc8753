// Model-based property test of the list: two users' todos (titles in mixed case and several scripts, with %, _
// and \; descriptions or none; every priority; some completed, some changed later) are walked page by page in
// every sort and order, filtered by completion, priorities and a search, and each page must be exactly what a
// plain in-memory model says: the matching todos after the previous page's last one, in the order's sequence,
// with the total of all matches. Between pages, todos are created, changed (their sort key too) and deleted; the
// walk must then still show every todo that existed unchanged throughout exactly once, in order. Bulk changes and
// deletes with the same filters must change exactly the model's matches, and nothing of the other user's.
//
// Case-insensitivity is Postgres's: the search folds case with lower() (ILIKE does) and the title order is
// lower(title) in the database's collation, both of which can differ from JavaScript's for text beyond ASCII
// (JavaScript lower-cases "İ" to "i̇", Postgres with a libc locale to "i"; a collation other than C orders "a"
// before "B"). So the model never guesses: it asks the test database for lower() of every title, description and
// search, and for the collation's order of the lower-cased titles. That lets the alphabet stay wide (the Kelvin
// sign, dotted and dotless i, sharp s, final sigma, combining marks, emoji, Hebrew and Arabic), which is where a
// cursor, an index or a pattern would go wrong.
import { expect, test } from "bun:test";
import { FormatRegistry } from "@sinclair/typebox";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { PRIORITIES } from "../../src/db/schema";
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_SEARCH_LENGTH, type Todo } from "../../src/todos/model";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { queryRows } from "../support/database";

const api = testClient();
const { db } = sharedDatabase().database;

const RUNS = 150;
const MIN_TOTAL_PAGES = 900;

type Priority = (typeof PRIORITIES)[number];
type Sort = "created_at" | "updated_at" | "title" | "priority";
type Direction = "asc" | "desc";
const SORTS: Sort[] = ["created_at", "updated_at", "title", "priority"];
/** The spec's direction of each sort when none is asked for: newest first, A to Z, High first. */
const NATURAL: Record<Sort, Direction> = { created_at: "desc", updated_at: "desc", title: "asc", priority: "asc" };

// ---- what Postgres says about text ----

const lowered = new Map<string, string>();

/** Learns lower() of each text from the database (once per text). */
async function fold(texts: Iterable<string>) {
  const missing = [...new Set(texts)].filter((text) => !lowered.has(text));
  if (missing.length === 0) return;
  const rows = await queryRows<{ value: string; lowered: string }>(
    db,
    sql`select value, lower(value) as lowered from jsonb_array_elements_text(${JSON.stringify(missing)}::text::jsonb) as texts(value)`,
  );
  for (const { value, lowered: lower } of rows) lowered.set(value, lower);
}

const lower = (text: string) => {
  const folded = lowered.get(text);
  if (folded === undefined) throw new Error(`lower() of ${JSON.stringify(text)} was not asked for`);
  return folded;
};

/** Where each of these titles falls in the title order: its lower-cased form's rank in the database's collation. */
async function titleRanks(titles: string[]): Promise<(title: string) => number> {
  await fold(titles);
  const keys = [...new Set(titles.map(lower))];
  const rows = await queryRows<{ key: string }>(
    db,
    sql`select key from jsonb_array_elements_text(${JSON.stringify(keys)}::text::jsonb) as keys(key) order by key`,
  );
  const ranks = new Map(rows.map(({ key }, rank) => [key, rank]));
  return (title) => ranks.get(lower(title)) ?? Number.NaN;
}

// The list refuses a q that is not visible text, or longer than MAX_SEARCH_LENGTH: the rule is read from where it
// is registered, since this test is about which todos a valid search finds (test/hostile.test.ts is about refusals).
const visibleText = FormatRegistry.Get("visible-text");
if (!visibleText) throw new Error("src/http/validation.ts registers the visible-text format");
const isVisible = (text: string) => visibleText(text);
const validSearch = (q: string) => q.length >= 1 && q.length <= MAX_SEARCH_LENGTH && isVisible(q);

// ---- the model ----

type Filters = { completed?: boolean; priorities?: Priority[]; q?: string };

/** The spec of q: a substring of the lower-cased title or of the lower-cased description, never across the two. */
const matches = (todo: Todo, { completed, priorities, q }: Filters) =>
  (completed === undefined || todo.is_completed === completed) &&
  (priorities === undefined || priorities.includes(todo.priority)) &&
  (q === undefined || lower(todo.title).includes(lower(q)) || (todo.description !== null && lower(todo.description).includes(lower(q))));

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order's sequence: each sort's keys in its natural direction, the id last so no two todos tie; the other
 * direction reverses the whole sequence. Instants are ISO text of one width, and lower-case UUID text sorts as
 * Postgres sorts uuid values.
 */
function sequenceOf(sort: Sort, order: Direction, titleRank: (title: string) => number) {
  const natural = {
    created_at: (a: Todo, b: Todo) => compareText(b.created_at, a.created_at) || compareText(b.id, a.id),
    updated_at: (a: Todo, b: Todo) => compareText(b.updated_at, a.updated_at) || compareText(b.id, a.id),
    title: (a: Todo, b: Todo) => titleRank(a.title) - titleRank(b.title) || compareText(a.id, b.id),
    priority: (a: Todo, b: Todo) =>
      PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority) || compareText(b.created_at, a.created_at) || compareText(b.id, a.id),
  }[sort];
  return order === NATURAL[sort] ? natural : (a: Todo, b: Todo) => natural(b, a);
}

// ---- the actions ----

// A search, made when it runs from the texts then stored (picked modulo what exists), or an odd string.
type Search =
  | { from: "title" | "description"; pick: number; start: number; length: number; recase: "as-is" | "upper" | "lower" }
  | { across: number }
  | { odd: string };
type FilterSpec = { completed?: boolean; priorities?: Priority[]; search?: Search };
// One of the user's todos (picked modulo how many they have), or, between pages, one the page just read showed:
// the next page starts from the last one's position, whether it has moved or gone since.
type Target = { pick: number } | { shown: number };
type Changes = Partial<Pick<Todo, "title" | "description" | "is_completed" | "priority">>;
type CreateBody = { title: string; description?: string | null; priority?: Priority };
type Change =
  | { op: "create"; user: number; body: CreateBody }
  | { op: "update"; user: number; target: Target; changes: Changes }
  | { op: "delete"; user: number; target: Target }
  | { op: "bulk-update"; user: number; filters: FilterSpec; changes: Changes }
  | { op: "bulk-delete"; user: number; filters: FilterSpec };
type Walk = {
  op: "walk";
  user: number;
  sort?: Sort;
  order?: Direction;
  filters: FilterSpec;
  limit?: number;
  followLink: boolean;
  // between[i]: the changes made after page i + 1 was read, before the next is asked for.
  between: Change[][];
};
type Action = Walk | Change;

const ascii = fc.constantFrom(..."aAbBeEiIkKsSzZ19 ");
const unicode = fc.constantFrom(
  "é",
  "É",
  "E\u0301", // E and a combining acute accent
  "\u0301", // a combining mark alone
  "\u212A", // KELVIN SIGN, which lower() folds to k
  "İ",
  "ı",
  "ß",
  "ẞ",
  "Σ",
  "σ",
  "ς",
  "😀",
  "👍🏽",
  "ש",
  "ל",
  "م",
  "ر",
);
const pattern = fc.constantFrom("%", "_", "\\");
const unit = fc.oneof({ weight: 6, arbitrary: ascii }, { weight: 3, arbitrary: unicode }, { weight: 2, arbitrary: pattern });
// Titles shared across todos, so the title order has ties that only the id breaks, and searches find several.
const commonTitles = [
  "apple",
  "Apple",
  "APPLE pie",
  "äpfel",
  "Äpfel",
  "100% done",
  "a_b",
  "C:\\temp",
  "%",
  "_",
  "\\",
  "ΣΊΣΥΦΟΣ",
  "σίσυφος",
  "\u212Aelvin",
  "kelvin",
  "İstanbul",
  "istanbul",
  "שלום",
  "😀 party",
];
const title = fc
  .oneof(
    fc.constantFrom(...commonTitles),
    fc.array(unit, { minLength: 1, maxLength: 12 }).map((units) => units.join("")),
  )
  .filter(isVisible);
const description = fc.oneof(
  fc.constant(null),
  fc.constantFrom("", "red or green", "100% dates_only \\ really", "Kelvin\nİstanbul", "ΣΊΣΥΦΟΣ\tok"),
  fc.array(fc.oneof({ weight: 8, arbitrary: unit }, fc.constantFrom("\n", "\t")), { maxLength: 16 }).map((units) => units.join("")),
);
const priority = fc.constantFrom<Priority>(...PRIORITIES);
const owner = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.constant(1));
const changes: fc.Arbitrary<Changes> = fc
  .record({ title, description, is_completed: fc.boolean(), priority }, { requiredKeys: [] })
  .filter((patch) => Object.keys(patch).length > 0);

const oddSearches = [
  "%",
  "_",
  "\\",
  "%%",
  "\\%",
  "_%",
  "%_\\",
  "a_b",
  "0% d",
  "C:\\",
  "\u212A",
  "K",
  "k",
  "İ",
  "i",
  "ı",
  "I",
  "ß",
  "SS",
  "ẞ",
  "Σ",
  "ς",
  "σ",
  "é",
  "E\u0301",
  "😀",
  "🏽",
  "שלום",
  "م",
  "'; drop table todos; --",
  "\u0301", // no visible character: 400
  " ", // no visible character: 400
  "x".repeat(MAX_SEARCH_LENGTH + 1), // too long: 400
];
const search: fc.Arbitrary<Search> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      from: fc.constantFrom<"title" | "description">("title", "description"),
      pick: fc.nat(),
      start: fc.nat(),
      length: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }) }, fc.integer({ min: 3, max: 8 })),
      recase: fc.constantFrom<"as-is" | "upper" | "lower">("as-is", "upper", "lower"),
    }),
  },
  fc.record({ across: fc.nat() }),
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(...oddSearches),
        fc.array(unit, { minLength: 1, maxLength: 3 }).map((units) => units.join("")),
      )
      .map((odd) => ({ odd })),
  },
);
const priorities = fc.oneof(
  { weight: 4, arbitrary: fc.shuffledSubarray([...PRIORITIES], { minLength: 1 }) },
  // The same priority twice is the same filter.
  fc.shuffledSubarray([...PRIORITIES], { minLength: 1 }).map((chosen) => [...chosen, chosen[0] as Priority]),
);
/** Sometimes absent: most lists filter by one thing or none. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, weight: number) =>
  fc.oneof({ weight: 10 - weight, arbitrary: fc.constant(undefined) }, { weight, arbitrary });
const filters: fc.Arbitrary<FilterSpec> = fc.record({
  completed: sometimes(fc.boolean(), 3),
  priorities: sometimes(priorities, 3),
  search: sometimes(search, 4),
});

const createBody: fc.Arbitrary<CreateBody> = fc.record({ title, description, priority }, { requiredKeys: ["title"] });
const target: fc.Arbitrary<Target> = fc.oneof(
  fc.nat().map((pick) => ({ pick })),
  fc.oneof(fc.constant(-1), fc.nat()).map((shown) => ({ shown })),
);
const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("create" as const), user: owner, body: createBody }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("update" as const), user: owner, target, changes }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), user: owner, target }) },
  fc.record({ op: fc.constant("bulk-update" as const), user: owner, filters, changes }),
  fc.record({ op: fc.constant("bulk-delete" as const), user: owner, filters }),
);
// Mostly small pages, so that walks are long; sometimes the largest page, or none asked for (the default).
const limit = fc.option(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) }, fc.constant(MAX_PAGE_LIMIT)), {
  nil: undefined,
  freq: 10,
});
const walk: fc.Arbitrary<Walk> = fc.record(
  {
    op: fc.constant("walk" as const),
    user: owner,
    sort: fc.constantFrom(...SORTS),
    order: fc.constantFrom<Direction>("asc", "desc"),
    filters,
    limit,
    followLink: fc.boolean(),
    between: fc.oneof(fc.constant<Change[][]>([]), fc.array(fc.array(change, { maxLength: 2 }), { maxLength: 6 })),
  },
  { requiredKeys: ["op", "user", "filters", "limit", "followLink", "between"] },
);
const action: fc.Arbitrary<Action> = fc.oneof({ weight: 6, arbitrary: walk }, { weight: 2, arbitrary: change });
const scenario = fc.record({
  // fast-check's default sizes are small; lists of one or two todos would rarely need a second page.
  seed: fc.array(fc.record({ user: owner, body: createBody }), { minLength: 1, maxLength: 30, size: "max" }),
  edits: fc.array(fc.record({ op: fc.constant("update" as const), user: owner, target: fc.nat().map((pick) => ({ pick })), changes }), {
    maxLength: 6,
  }),
  actions: fc.array(action, { minLength: 1, maxLength: 8, size: "max" }),
});

// ---- running them against the API and the model ----

type Reply = Awaited<ReturnType<typeof api.call>>;

function expectRefusedNaming(reply: Reply, field: string) {
  expect(reply.status).toBe(400);
  expect(reply.json.error_code).toBe("VALIDATION_ERROR");
  expect(reply.json.field_errors.map((error: { field: string }) => error.field)).toContain(field);
}

const byId = (a: Todo, b: Todo) => compareText(a.id, b.id);
const newestFirst = sequenceOf("created_at", "desc", () => 0);

const stats = { runs: 0, walks: 0, pages: 0, refused: 0, changesBetweenPages: 0, bulk: 0, shapes: new Set<string>() };

function newRun(log: (line: string) => void) {
  const users = [newUserId(), newUserId()];
  const model = new Map<string, Todo>();
  const todosOf = (user: string) => [...model.values()].filter((todo) => todo.user_id === user).sort(byId);
  const texts = () => [...model.values()].flatMap((todo) => [todo.title, ...(todo.description === null ? [] : [todo.description])]);

  /** The search a spec names, made from the texts stored now. */
  function searchOf(spec: Search): string {
    if ("odd" in spec) return spec.odd;
    const all = [...model.values()].sort(byId);
    if ("across" in spec) {
      const described = all.filter((todo) => todo.description);
      const todo = described[spec.across % Math.max(1, described.length)];
      if (!todo) return "a";
      // The end of the title and the start of the description: a match only where one of them holds it.
      return [...todo.title].slice(-2).join("") + [...(todo.description ?? "")].slice(0, 2).join("");
    }
    const sources = all.map((todo) => (spec.from === "title" ? todo.title : todo.description)).filter((text) => text);
    const chars = [...(sources[spec.pick % Math.max(1, sources.length)] ?? "a")];
    const start = spec.start % chars.length;
    const taken = chars.slice(start, start + spec.length).join("");
    return spec.recase === "upper" ? taken.toUpperCase() : spec.recase === "lower" ? taken.toLowerCase() : taken;
  }

  const filtersOf = ({ completed, priorities, search }: FilterSpec): Filters => ({
    completed,
    priorities,
    q: search && searchOf(search),
  });

  const queryOf = ({ completed, priorities, q }: Filters) =>
    [
      completed === undefined ? "" : `completed=${completed}`,
      priorities === undefined ? "" : `priority=${priorities.join(",")}`,
      q === undefined ? "" : `q=${encodeURIComponent(q)}`,
    ].filter((part) => part);

  async function create(user: string, body: CreateBody) {
    const { status, json } = await api.create(user, body);
    expect(status).toBe(201);
    expect(json).toEqual({
      id: expect.any(String),
      title: body.title,
      description: body.description ?? null,
      is_completed: false,
      priority: body.priority ?? "Medium",
      created_at: expect.any(String),
      updated_at: json.created_at,
      user_id: user,
    });
    model.set(json.id, json);
  }

  /** Applies a change through the API and to the model; returns the ids of the todos it changed or deleted. */
  async function apply(each: Change, shown: Todo[] = []): Promise<string[]> {
    const user = users[each.user] as string;
    log(`${each.op} by user ${each.user}`);
    if (each.op === "create") {
      await create(user, each.body);
      return [];
    }
    if (each.op === "update" || each.op === "delete") {
      const own = todosOf(user);
      const { target } = each;
      // -1: the last todo shown, where the next page starts.
      const shownId = "shown" in target ? shown.at(target.shown === -1 ? -1 : target.shown % Math.max(1, shown.length))?.id : undefined;
      const shownTodo = shownId === undefined ? undefined : model.get(shownId);
      const todo = shownTodo?.user_id === user ? shownTodo : own["pick" in target ? target.pick % Math.max(1, own.length) : 0];
      if (!todo) return [];
      if (each.op === "delete") {
        expect((await api.remove(user, todo.id)).status).toBe(204);
        model.delete(todo.id);
        return [todo.id];
      }
      const { status, json } = await api.update(user, todo.id, each.changes);
      expect(status).toBe(200);
      expect(json).toEqual({ ...todo, ...each.changes, updated_at: expect.any(String) });
      expect(json.updated_at >= todo.updated_at).toBe(true);
      model.set(todo.id, json);
      return [todo.id];
    }
    return bulk(user, each);
  }

  /** A bulk change or delete with filters (none: all=true): it must touch exactly the model's matches, and answer how many. */
  async function bulk(user: string, each: Extract<Change, { op: "bulk-update" | "bulk-delete" }>): Promise<string[]> {
    const filters = filtersOf(each.filters);
    const query = queryOf(filters);
    const path = `/api/v1/todos?${query.length > 0 ? query.join("&") : "all=true"}`;
    const body = each.op === "bulk-update" ? each.changes : undefined;
    const reply = await api.call(each.op === "bulk-update" ? "PATCH" : "DELETE", path, { user, body });
    if (filters.q !== undefined && !validSearch(filters.q)) {
      expectRefusedNaming(reply, "q");
      return [];
    }
    stats.bulk++;
    await fold([...texts(), ...(filters.q === undefined ? [] : [filters.q])]);
    const matched = todosOf(user).filter((todo) => matches(todo, filters));
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ count: matched.length });
    if (each.op === "bulk-delete") {
      for (const todo of matched) model.delete(todo.id);
      return matched.map((todo) => todo.id);
    }
    // The server stamps updated_at: read it back, with everything else as the model expects. One statement: one instant.
    const stamps = new Set<string>();
    for (const todo of matched) {
      const { status, json } = await api.get(user, todo.id);
      expect(status).toBe(200);
      expect(json).toEqual({ ...todo, ...each.changes, updated_at: expect.any(String) });
      expect(json.updated_at >= todo.updated_at).toBe(true);
      stamps.add(json.updated_at);
      model.set(todo.id, json);
    }
    expect(stamps.size).toBeLessThanOrEqual(1);
    return matched.map((todo) => todo.id);
  }

  /** The caller's todos the filters match now, in the order's sequence, and that sequence (knowing these titles too). */
  async function expected(user: string, filters: Filters, sort: Sort, order: Direction, alsoTitles: string[]) {
    await fold([...texts(), ...alsoTitles, ...(filters.q === undefined ? [] : [filters.q])]);
    const titles = [...model.values()].map((todo) => todo.title).concat(alsoTitles);
    const sequence = sequenceOf(sort, order, sort === "title" ? await titleRanks(titles) : () => 0);
    return {
      matching: todosOf(user)
        .filter((todo) => matches(todo, filters))
        .sort(sequence),
      sequence,
    };
  }

  /**
   * Every page in turn, each exactly the model's matches after the previous page's last todo (as it was read), at
   * most `limit` of them, with the total of all matches; then, over the whole walk, every todo that existed
   * unchanged throughout exactly once and in order, and no todo twice unless it changed meanwhile.
   */
  async function walkPages(each: Walk) {
    const user = users[each.user] as string;
    const filters = filtersOf(each.filters);
    const sort = each.sort ?? "created_at";
    const order = each.order ?? NATURAL[sort];
    const limit = each.limit ?? DEFAULT_PAGE_LIMIT;
    const query = [
      ...(each.sort ? [`sort=${each.sort}`] : []),
      ...(each.order ? [`order=${each.order}`] : []),
      ...queryOf(filters),
      ...(each.limit ? [`limit=${each.limit}`] : []),
    ];
    log(`walk by user ${each.user}: ${query.join("&")}`);
    let path = `/api/v1/todos${query.length > 0 ? `?${query.join("&")}` : ""}`;
    if (filters.q !== undefined && !validSearch(filters.q)) {
      stats.refused++;
      expectRefusedNaming(await api.call("GET", path, { user }), "q");
      return;
    }
    stats.walks++;
    stats.shapes.add(`${sort} ${order} ${filters.completed} ${filters.priorities !== undefined} ${filters.q !== undefined}`);
    const start = (await expected(user, filters, sort, order, [])).matching;
    const touched = new Set<string>();
    let changesMade = 0;
    const seen: Todo[] = [];
    let after: Todo | undefined;
    for (let page = 0; ; page++) {
      const reply = await api.call("GET", path, { user });
      stats.pages++;
      expect(reply.status).toBe(200);
      const { matching, sequence } = await expected(user, filters, sort, order, after ? [after.title] : []);
      const rest = after ? matching.filter((todo) => sequence(todo, after as Todo) > 0) : matching;
      expect(reply.json).toEqual({
        items: rest.slice(0, limit),
        count: Math.min(limit, rest.length),
        total: matching.length,
        next_cursor: rest.length > limit ? expect.any(String) : null,
      });
      expect(reply.headers.has("link")).toBe(rest.length > limit);
      seen.push(...reply.json.items);
      if (reply.json.next_cursor === null) break;
      after = reply.json.items.at(-1);
      // The Link header, or the same query with next_cursor: either is the next page.
      const link = /^<([^>]+)>; rel="next"$/.exec(reply.headers.get("link") ?? "")?.[1];
      path = each.followLink && link ? link : `/api/v1/todos?${[...query, `cursor=${reply.json.next_cursor}`].join("&")}`;
      for (const between of each.between[page] ?? []) {
        stats.changesBetweenPages++;
        changesMade++;
        for (const id of await apply(between, reply.json.items)) touched.add(id);
      }
    }
    const unchanged = start.filter((todo) => !touched.has(todo.id));
    const unchangedIds = new Set(unchanged.map((todo) => todo.id));
    expect(seen.filter((todo) => unchangedIds.has(todo.id))).toEqual(unchanged);
    const ids = seen.map((todo) => todo.id);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index && !touched.has(id))).toEqual([]);
    if (changesMade === 0) expect(seen).toEqual(start);
  }

  // Whatever happened, each user's whole list is the model's, newest first: a bulk change reached no one else.
  async function expectListsMatchModel() {
    for (const user of users) {
      const items = todosOf(user).sort(newestFirst);
      const { status, json } = await api.list(user, `limit=${MAX_PAGE_LIMIT}`);
      expect(status).toBe(200);
      expect(json).toEqual({ items, count: items.length, total: items.length, next_cursor: null });
    }
  }

  return {
    seed: (user: number, body: CreateBody) => create(users[user] as string, body),
    apply: (each: Action) => (each.op === "walk" ? walkPages(each) : apply(each)),
    expectListsMatchModel,
  };
}

test("every walk of every order and filter is the model's list, exactly, even while the list changes (model-based)", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, fc.context(), async ({ seed, edits, actions }, context) => {
      stats.runs++;
      const run = newRun((line) => context.log(line));
      for (const { user, body } of seed) await run.seed(user, body);
      for (const edit of edits) await run.apply(edit);
      await run.expectListsMatchModel();
      for (const each of actions) {
        await run.apply(each);
        await run.expectListsMatchModel();
      }
    }),
    { numRuns: RUNS },
  );
  console.log(
    `lists property: ${stats.runs} runs, ${stats.walks} walks (${stats.pages} pages, ${stats.changesBetweenPages} changes between pages, ` +
      `${stats.refused} refused searches), ${stats.bulk} bulk changes; ${stats.shapes.size} sort × order × filter shapes`,
  );
  expect(stats.pages).toBeGreaterThanOrEqual(MIN_TOTAL_PAGES);
  // Every sort in both directions was walked, and under many filter combinations.
  expect(new Set([...stats.shapes].map((shape) => shape.split(" ").slice(0, 2).join(" "))).size).toBe(SORTS.length * 2);
}, 180_000);

// The random walks above reach each shape of bulk change only now and then; this takes every one in turn, on the
// same connections: each of the fields a change may set, with each set of filters (none: all=true). Its statement
// must work whatever ran before it, and change as many todos as the list with the same filters counts.
test("every shape of bulk change (fields set × filters) changes exactly what the list with its filters counts", async () => {
  const user = newUserId();
  for (const [index, body] of commonTitles.entries()) {
    expect((await api.create(user, { title: body, priority: PRIORITIES[index % PRIORITIES.length] })).status).toBe(201);
  }
  const fieldSets = subsets(["title", "description", "is_completed", "priority"] as const).filter((fields) => fields.length > 0);
  const filterSets = subsets(["completed=false", "priority=High,Low", "q=a"]);
  let shapes = 0;
  for (const [index, fields] of fieldSets.entries()) {
    const values = {
      title: `a title ${index}`,
      description: index % 3 === 0 ? null : `a description ${index}`,
      is_completed: index % 2 === 0,
      priority: PRIORITIES[index % PRIORITIES.length],
    };
    const body = Object.fromEntries(fields.map((field) => [field, values[field]]));
    for (const filterSet of filterSets) {
      const query = filterSet.length > 0 ? filterSet.join("&") : "all=true";
      const { total } = (await api.list(user, filterSet.join("&"))).json;
      const reply = await api.call("PATCH", `/api/v1/todos?${query}`, { user, body });
      expect([fields.join(), query, reply.status, reply.json]).toEqual([fields.join(), query, 200, { count: total }]);
      shapes++;
    }
  }
  expect(shapes).toBe(15 * 8);
});

function subsets<T>(items: readonly T[]): T[][] {
  return items.reduce<T[][]>((all, item) => all.concat(all.map((subset) => [...subset, item])), [[]]);
}
