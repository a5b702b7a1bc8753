// Issue 28: no statement on a request's path may depend on a plan choice. Postgres plans a prepared
// statement for its parameters' values at first, then after about five runs may keep one generic plan,
// made without knowing them. If that generic plan reads a user's rows by a sequential scan, every call
// reads the whole table: a count once did, and creates fell from 2,400/s to 80/s.
//
// So: seed tables large enough that a sequential scan would win wherever the plan leaves it a choice,
// drive every operation of the API once through the app, capture each statement it sends (its text and
// parameters, through Drizzle's logger), and ask Postgres for each one's generic plan
// (plan_cache_mode = force_generic_plan, PREPARE, EXPLAIN EXECUTE). Every read of a user table must
// be an index scan whose condition names the user.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "drizzle-orm";
import type { Logger } from "drizzle-orm/logger";
import { createApp } from "../../src/app";
import type { Db } from "../../src/db/connect";
import { rowsOf } from "../../src/db/rows";
import type { RunQuery } from "../../src/db/run-query";
import { IDEMPOTENCY_KEYS_PER_USER } from "../../src/db/schema";
import { todoStore } from "../../src/todos/store";
import { createTestDatabase, testDriver } from "../support/database";
import { eventReader } from "../support/event-stream";
import { asCaller, auditLogger } from "../support/query-audit";

// A few users with thousands of todos each: with few distinct user ids, a generic plan estimates a
// quarter of the table for `user_id = $1`, where a sequential scan is cheapest unless the statement
// is shaped to seek an index. Many more users rows than heavy users, so a lookup of one users row by
// id is not a scan of four rows either.
const HEAVY_USERS = 4;
const TODOS_EACH = 5_000;
const DELETED_EACH = 2_000;
const IDLE_USERS = 20_000;

// The tables whose rows belong to one user, and the column that names the user in each.
const OWNER_COLUMN: Record<string, string> = {
  todos: "user_id",
  idempotency_keys: "user_id",
  todo_tombstones: "user_id",
  users: "id",
};

type Captured = { name: string; sql: string; params: unknown[] };
type PlanNode = {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  "Recheck Cond"?: string;
  Filter?: string;
  "Parent Relationship"?: string;
  "CTE Name"?: string;
  Plans?: PlanNode[];
};

// Which request, and which store call in it, sent a statement: its name in a failure.
const request = new AsyncLocalStorage<string>();
const operation = new AsyncLocalStorage<string>();
const captured = new Map<string, Captured>();

// Every statement sent while a request is served, once per text (a generic plan does not depend on the
// values). The query audit still sees them: this file's database is its own, not the shared one.
const capture: Logger = {
  logQuery(query, params) {
    const during = request.getStore();
    if (!during) return;
    if (!captured.has(query))
      captured.set(query, { name: `${operation.getStore() ?? "outside the store"} (${during})`, sql: query, params });
    auditLogger.logQuery(query, params);
  },
};

/** Why a scan node reads a user table without an index condition naming the user, or undefined. */
function scanProblem(node: PlanNode): string | undefined {
  const table = node["Relation Name"];
  const owner = table && OWNER_COLUMN[table];
  if (!owner || !/Scan$/.test(node["Node Type"])) return undefined;
  if (node["Node Type"] === "Seq Scan") return `a Seq Scan on ${table}`;
  const condition = node["Index Cond"] ?? node["Recheck Cond"];
  if (!condition || !new RegExp(`\\b${owner} = \\(?\\$\\d+`).test(condition)) {
    return `a ${node["Node Type"]} on ${table} whose index condition (${condition ?? "none"}) does not name the user (${owner} = $n)`;
  }
  return undefined;
}

/** Every problem in the plan tree: init plans, subplans and CTEs are child nodes too. */
function planProblems(node: PlanNode): string[] {
  const own = scanProblem(node);
  return [...(own ? [own] : []), ...(node.Plans ?? []).flatMap(planProblems)];
}

// EXECUTE's arguments as literals of unknown type, which Postgres casts to the statement's parameter types.
const literal = (value: unknown) =>
  value === null || value === undefined ? "null" : `'${(typeof value === "string" ? value : JSON.stringify(value)).replaceAll("'", "''")}'`;

let planNumber = 0;
/**
 * The generic plan of a statement. PREPARE, EXPLAIN EXECUTE and the setting must share one session:
 * a transaction holds one connection on every driver (Bun SQL's pool and Neon's too). EXPLAIN without
 * ANALYZE runs nothing, so the writes are planned, not made.
 */
async function genericPlan(db: Db, { sql: text, params }: Captured): Promise<PlanNode> {
  const name = `generic_plan_check_${++planNumber}`;
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw("set local plan_cache_mode = force_generic_plan"));
    await tx.execute(sql.raw(`prepare ${name} as ${text}`));
    const args = params.length > 0 ? `(${params.map(literal).join(", ")})` : "";
    const [row] = await rowsOf<{ "QUERY PLAN": unknown }>(tx, sql.raw(`explain (format json) execute ${name}${args}`));
    await tx.execute(sql.raw(`deallocate ${name}`));
    const explained = row?.["QUERY PLAN"];
    const [plan] = (typeof explained === "string" ? JSON.parse(explained) : explained) as { Plan: PlanNode }[];
    if (!plan) throw new Error(`no plan for ${text}`);
    return plan.Plan;
  });
}

/** The plan as EXPLAIN's text would show it, one node a line: enough to see where a scan is and why. */
function planText(node: PlanNode, depth = 0): string {
  const details = [
    node["Relation Name"] && `on ${node["Relation Name"]}`,
    node["Index Name"] && `using ${node["Index Name"]}`,
    node["CTE Name"] && `(CTE ${node["CTE Name"]})`,
    node["Parent Relationship"] && `[${node["Parent Relationship"]}]`,
    node["Index Cond"] && `Index Cond: ${node["Index Cond"]}`,
    node["Recheck Cond"] && `Recheck Cond: ${node["Recheck Cond"]}`,
    node.Filter && `Filter: ${node.Filter}`,
  ].filter(Boolean);
  const line = `${"  ".repeat(depth + 2)}${node["Node Type"]} ${details.join(" ")}`;
  return [line, ...(node.Plans ?? []).map((child) => planText(child, depth + 1))].join("\n");
}

/** Why the statement's generic plan reads a user's rows without seeking them, with the plan; undefined if it does not. */
async function genericPlanProblem(db: Db, statement: Captured): Promise<string | undefined> {
  const plan = await genericPlan(db, statement);
  const problems = planProblems(plan);
  if (problems.length === 0) return undefined;
  return `${statement.name}: its generic plan has ${problems.join("; ")}\n  ${statement.sql}\n  generic plan:\n${planText(plan)}`;
}

const heavyUsers = Array.from({ length: HEAVY_USERS }, () => crypto.randomUUID());

/**
 * Seeds as the service would have left the tables (drizzle/0007_change_feed.sql): each heavy user made
 * TODOS_EACH todos, then made and deleted DELETED_EACH more (each create and delete taking a position,
 * the delete leaving a tombstone), and holds the most Idempotency-Keys a user may. The users' rows are
 * interleaved in each table, as concurrent users' writes are: a user's rows are then spread over every
 * page, which is what makes an index look dear to the planner.
 */
async function seed(db: Db) {
  const heavy = sql`unnest(${`{${heavyUsers.join(",")}}`}::uuid[]) with ordinality as u(id, i)`;
  const positions = TODOS_EACH + 2 * DELETED_EACH;
  await db.execute(sql`insert into users (id) select gen_random_uuid() from generate_series(1, ${IDLE_USERS})`);
  await db.execute(sql`insert into users (id, change_position, todo_count) select u.id, ${positions}, ${TODOS_EACH} from ${heavy}`);
  await db.execute(sql`
    insert into todos (user_id, title, is_completed, priority, created_at, updated_at, change_position)
    select u.id, 'seeded ' || n, n % 3 = 0, (array['High', 'Medium', 'Low'])[n % 3 + 1]::todo_priority,
      now() - make_interval(secs => ${positions} - n), now() - make_interval(secs => ${positions} - n), n
    from generate_series(1, ${TODOS_EACH}) as n, ${heavy} order by n, u.i`);
  await db.execute(sql`
    insert into todo_tombstones (user_id, todo_id, change_position, deleted_at)
    select u.id, gen_random_uuid(), ${TODOS_EACH} + 2 * n, now() - make_interval(secs => ${DELETED_EACH} - n)
    from generate_series(1, ${DELETED_EACH}) as n, ${heavy} order by n, u.i`);
  await db.execute(sql`
    insert into idempotency_keys (user_id, key, request_hash, todo_id, created_at)
    select u.id, 'seeded-' || n, repeat('0', 64), gen_random_uuid(), now() - make_interval(mins => n)
    from generate_series(1, ${IDEMPOTENCY_KEYS_PER_USER}) as n, ${heavy} order by n desc, u.i`);
  await db.execute(sql`analyze`);
}

/** Why this driver cannot show a generic plan, or undefined: the setting must hold across the session's statements. */
async function sessionProblem(db: Db): Promise<string | undefined> {
  try {
    const mode = await db.transaction(async (tx) => {
      await tx.execute(sql.raw("set local plan_cache_mode = force_generic_plan"));
      const [row] = await rowsOf<{ plan_cache_mode: string }>(tx, sql.raw("show plan_cache_mode"));
      return row?.plan_cache_mode;
    });
    return mode === "force_generic_plan" ? undefined : `a transaction's statements did not share its session (plan_cache_mode ${mode})`;
  } catch (error) {
    return `a transaction with SET LOCAL failed: ${(error as Error).message}`;
  }
}

const database = await createTestDatabase({ logger: capture });
const unsupported = await sessionProblem(database.database.db);
if (unsupported) console.log(`generic plans: skipped on the ${testDriver} driver: ${unsupported}`);

// The service's own store and routes. The store's calls run without the circuit and deadline (not under
// test here), so that each statement is named by the store call that sent it.
const named: RunQuery = (name, work) => operation.run(name, work);
const store = todoStore(database.database.db, named, { maxTodosPerUser: database.config.maxTodosPerUser });
const app = createApp({ database: database.database, config: database.config, store });
afterAll(async () => {
  await app.closeStreams();
  await database.drop();
});

/** One request by `user`, labelled for the statements it sends. */
function call(label: string, user: string, method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { "x-user-id": user, ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const sent = new Request(`http://localhost${path}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return request.run(label, () => asCaller(user, () => app.handle(sent)));
}

/** Every operation of the API once, and each store statement at least once (each kind of update, each list page). */
async function driveEveryOperation() {
  const [user = ""] = heavyUsers;
  const todos = "/api/v1/todos";
  const tasks = `/api/${user}/tasks`;
  const json = async (response: Response, status: number) => {
    expect(response.status).toBe(status);
    return response.status === 204 || response.status === 304 ? undefined : response.json();
  };

  const created = await json(await call("create", user, "POST", todos, { body: { title: "plain" } }), 201);
  const key = { "idempotency-key": crypto.randomUUID() };
  const keyed = await json(await call("keyed create", user, "POST", todos, { body: { title: "keyed" }, headers: key }), 201);
  await json(await call("keyed create, replayed", user, "POST", todos, { body: { title: "keyed" }, headers: key }), 201);
  // A user with no users row yet: the keyed create adds it, and tries again.
  const newcomer = crypto.randomUUID();
  await json(await call("keyed create, new user", newcomer, "POST", todos, { body: { title: "first" }, headers: key }), 201);
  await json(await call("create, new user", crypto.randomUUID(), "POST", todos, { body: { title: "first" } }), 201);

  const page = await json(await call("list", user, "GET", `${todos}?limit=5`), 200);
  await json(await call("list after a cursor", user, "GET", `${todos}?limit=5&cursor=${page.next_cursor}`), 200);
  const done = await json(await call("list completed", user, "GET", `${todos}?limit=5&completed=true`), 200);
  await json(await call("list completed after a cursor", user, "GET", `${todos}?limit=5&completed=true&cursor=${done.next_cursor}`), 200);
  await json(await call("list of tasks", user, "GET", tasks), 200);
  // Every order both ways, first page and after a cursor; with each filter, and all of them at once.
  for (const sort of ["created_at", "updated_at", "title", "priority"]) {
    for (const order of ["asc", "desc"]) {
      for (const filter of ["", "&completed=false", "&priority=High,Low", "&q=seeded", "&completed=false&priority=Medium&q=1"]) {
        const query = `${todos}?limit=5&sort=${sort}&order=${order}${filter}`;
        const first = await json(await call(`list by ${sort} ${order}${filter}`, user, "GET", query), 200);
        if (first.next_cursor)
          await json(await call(`list by ${sort} ${order}${filter}, after`, user, "GET", `${query}&cursor=${first.next_cursor}`), 200);
      }
    }
  }
  // A page past the end of a filtered list: its total is counted on its own.
  await json(await call("list of nothing", user, "GET", `${todos}?q=no%20such%20todo`), 200);
  await json(await call("bulk update", user, "PATCH", `${todos}?q=no%20such%20todo`, { body: { is_completed: true } }), 200);
  await json(await call("bulk update of all", user, "PATCH", `${todos}?all=true&priority=Low`, { body: { priority: "Low" } }), 400);
  await json(
    await call("bulk update by priority", user, "PATCH", `${todos}?priority=Low&completed=true`, { body: { priority: "Low" } }),
    200,
  );
  await json(await call("bulk delete", user, "DELETE", `${todos}?q=no%20such%20todo`), 200);

  const at = `${todos}/${created.id}`;
  const retrieved = await call("retrieve", user, "GET", at);
  await json(retrieved, 200);
  await json(
    await call("retrieve, If-None-Match", user, "GET", at, { headers: { "if-none-match": retrieved.headers.get("etag") ?? "" } }),
    304,
  );

  // Each combination of fields is its own statement, with If-Match and without.
  const values = { title: "changed", description: "changed", is_completed: true, priority: "High" } as const;
  const fields = Object.keys(values) as (keyof typeof values)[];
  for (let mask = 1; mask < 2 ** fields.length; mask++) {
    const body = Object.fromEntries(fields.filter((_, bit) => mask & (2 ** bit)).map((field) => [field, values[field]]));
    const names = Object.keys(body).join(", ");
    const current = await call(`update ${names}`, user, "PATCH", at, { body });
    await json(current, 200);
    const ifMatch = { "if-match": current.headers.get("etag") ?? "" };
    await json(await call(`update ${names}, If-Match`, user, "PATCH", at, { body, headers: ifMatch }), 200);
  }
  await json(
    await call("update, stale If-Match", user, "PATCH", at, { body: { title: "x" }, headers: { "if-match": `"${created.id}.1"` } }),
    412,
  );

  const task = `${tasks}/${keyed.id}`;
  const toggled = await call("toggle a task", user, "PATCH", `${task}/complete`);
  await json(toggled, 200);
  await json(
    await call("toggle a task, If-Match", user, "PATCH", `${task}/complete`, {
      headers: { "if-match": toggled.headers.get("etag") ?? "" },
    }),
    200,
  );
  await json(await call("complete a task", user, "POST", `${task}/complete`), 200);
  const replacement = { title: "replaced", description: null, is_completed: false, priority: "Low" };
  await json(await call("replace a task", user, "PUT", task, { body: replacement }), 200);
  await json(await call("task metrics", user, "GET", `${tasks}/metrics`), 200);

  await json(await call("delete", user, "DELETE", at), 204);
  const last = await call("retrieve", user, "GET", `${todos}/${keyed.id}`);
  await json(
    await call("delete, If-Match", user, "DELETE", `${todos}/${keyed.id}`, { headers: { "if-match": last.headers.get("etag") ?? "" } }),
    204,
  );

  // The change feed, a page and the next; and the live stream, which reads the feed when it opens.
  const feed = await json(await call("change feed", user, "GET", `${todos}/changes?limit=50`), 200);
  await json(await call("change feed, since", user, "GET", `${todos}/changes?limit=50&since=${feed.next_since}`), 200);
  const stream = await call("change events", user, "GET", `${todos}/events`);
  expect(stream.status).toBe(200);
  await eventReader(stream).cancel();
}

/** The generic-plan problems of every statement, one entry per statement that has any. */
async function problemsOf(statements: Captured[], state: string): Promise<string[]> {
  const problems: string[] = [];
  for (const statement of statements) {
    const problem = await genericPlanProblem(database.database.db, statement);
    if (problem) problems.push(`${state}, ${problem}`);
  }
  console.log(
    `generic plans (${testDriver}, ${state}): ${statements.length} statements checked, ${problems.length} reading a user table by a scan`,
  );
  if (problems.length > 0) console.log(problems.join("\n\n"));
  return problems;
}

describe.skipIf(unsupported !== undefined)(`generic plans (${testDriver})`, () => {
  beforeAll(async () => {
    await seed(database.database.db);
    await driveEveryOperation();
  }, 120_000);

  test("the requests reached every statement of the store", () => {
    const reached = new Set([...captured.values()].map(({ name }) => name.slice(0, name.indexOf(" ("))));
    const expected = [
      ...["create_todo", "create_todo_with_key", "recall_idempotency_key", "new_user", "get_todo", "todo_version", "todo_summary"],
      ...["list_todos", "count_todos", "update_todos", "delete_todos", "todo_changes"],
      ...["toggle_todo", "toggle_todo_if_version", "delete_todo", "delete_todo_if_version"],
    ];
    expect(expected.filter((name) => !reached.has(name))).toEqual([]);
    // Each of the 15 combinations of the four fields, with If-Match and without.
    expect([...reached].filter((name) => name.startsWith("update_todo_"))).toHaveLength(30);
    // Every list shape driven above: 4 orders x 2 directions x 5 filter sets, first pages and pages after.
    const lists = [...captured.values()].filter(({ name }) => name.startsWith("list_todos ("));
    expect(lists.length).toBeGreaterThanOrEqual(4 * 2 * 5 * 2);
  });

  test("the check flags a statement whose generic plan scans a user table", async () => {
    const { db } = database.database;
    const unscoped = { name: "a deliberately unscoped count", sql: "select count(*) from todos where title = $1", params: ["seeded 1"] };
    expect(await genericPlanProblem(db, unscoped)).toContain("a Seq Scan on todos");
    // An index is read, but not by user: every user's rows of that age.
    const byAge = { name: "tombstones by age", sql: "select todo_id from todo_tombstones where deleted_at = $1", params: ["2000-01-01"] };
    expect(await genericPlanProblem(db, byAge)).toContain("does not name the user");
    const scoped = {
      name: "one todo",
      sql: "select title from todos where user_id = $1 and id = $2",
      params: [heavyUsers[0], heavyUsers[0]],
    };
    expect(await genericPlanProblem(db, scoped)).toBeUndefined();
  });

  // Fresh writes leave the visibility map unset until a vacuum (PGlite never runs autovacuum): index-only
  // scans then cost as much as index scans, and a sequential scan wins sooner.
  test("on freshly written tables, no statement on a request's path reads a user table without seeking the user's rows", async () => {
    expect(await problemsOf([...captured.values()], "freshly written")).toEqual([]);
  }, 60_000);

  // And after a vacuum, as autovacuum leaves a server's tables: index-only scans get cheaper, so other
  // plans. VACUUM without ANALYZE: the statistics stay those of the seed, so only the visibility map changes.
  test("after VACUUM, no statement on a request's path reads a user table without seeking the user's rows", async () => {
    await database.database.db.execute(sql`vacuum`);
    expect(await problemsOf([...captured.values()], "vacuumed")).toEqual([]);
  }, 60_000);
});
