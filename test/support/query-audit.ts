// The query audit: every statement the app sends while serving a test's request is checked
// to be scoped to the caller. An unscoped statement is refused before it reaches the
// database (so the request fails), and listed at the end of the run.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "drizzle-orm/logger";

const caller = new AsyncLocalStorage<string>();

export const audit = { checked: 0, unaudited: 0, violations: [] as string[] };

/** Runs `work` as a request by `userId`: statements it causes are audited against that user. */
export const asCaller = <T>(userId: string, work: () => T): T => caller.run(userId.toLowerCase(), work);

const param = (params: unknown[], placeholder: string | undefined) =>
  placeholder?.startsWith("$") ? String(params[Number(placeholder.slice(1)) - 1]).toLowerCase() : undefined;

// Tables whose every row belongs to one user: every statement touching them must be scoped to the caller.
const USER_TABLES = ["todos", "idempotency_keys", "todo_tombstones"];
const mentions = (query: string, table: string) => new RegExp(`\\b${table}\\b`, "i").test(query);

/** Why `query` is not scoped to `userId`, or undefined when it is. */
export function scopeProblem(query: string, params: unknown[], userId: string): string | undefined {
  const newUser = /insert into "users" \("id"[^)]*\) values \((\$\d+)/i.exec(query);
  if (newUser && param(params, newUser[1]) !== userId) return "creates a user other than the caller";
  // A user's row (their change position and counts): read or changed only where its id is the caller's.
  const userRowUses = query.match(/\b(?:from|update) "users"(?![\w.])/gi)?.length ?? 0;
  const userRows = [...query.matchAll(/"users"\."id" = (\$\d+)/g)].map((match) => param(params, match[1]));
  if (userRows.length < userRowUses || !userRows.every((owner) => owner === userId)) return "reads or changes a user row not the caller's";
  const tables = USER_TABLES.filter((table) => mentions(query, table));
  if (tables.length === 0) return undefined;
  // An OR could widen a user predicate to other rows.
  if (/\bor\b/i.test(query)) return "has OR in it";
  for (const table of tables) {
    const problem = tableScopeProblem(query, params, userId, table);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Every row a statement inserts into `table` is the caller's, and every place that reads, changes or
 * deletes its rows (each `from` or `update` of it, CTEs and subqueries included) has a user_id
 * predicate bound to the caller.
 */
function tableScopeProblem(query: string, params: unknown[], userId: string, table: string): string | undefined {
  const noun = table === "todos" ? "a todo" : `a row of ${table}`;
  for (const insert of query.matchAll(
    new RegExp(`insert into "?${table}"? \\(([^)]*)\\) (?:values \\(([^)]*)\\)|select (.*?) from)`, "gi"),
  )) {
    const [, columnList = "", values, selected] = insert;
    let owner: string | undefined;
    if (values !== undefined) {
      const columns = columnList.split(",").map((c) => c.trim());
      owner = param(params, values.split(",").map((v) => v.trim())[columns.indexOf('"user_id"')]);
    } else {
      owner = param(params, /(\$\d+)::uuid as "user_id"/.exec(selected ?? "")?.[1]);
    }
    if (owner !== userId) return `inserts ${noun} for ${owner ?? "an unbound user_id"}, not the caller`;
  }
  const uses = query.match(new RegExp(`\\b(?:from|update) "?${table}"?(?![\\w.])`, "gi"))?.length ?? 0;
  if (uses === 0) return undefined;
  if (!/\bwhere\b/i.test(query)) return `reads or writes ${table} with no WHERE clause`;
  const owners = [...query.matchAll(new RegExp(`"${table}"\\."user_id" = (\\$\\d+)`, "g"))].map((match) => param(params, match[1]));
  if (owners.length < uses)
    return owners.length === 0 ? "has no user_id predicate" : `reads ${table} ${uses} times with ${owners.length} user_id predicates`;
  if (!owners.every((owner) => owner === userId)) return "is scoped to another user";
  return undefined;
}

export const auditLogger: Logger = {
  logQuery(query, params) {
    const userId = caller.getStore();
    if (!userId) {
      if (USER_TABLES.some((table) => mentions(query, table))) audit.unaudited++;
      return;
    }
    if (!USER_TABLES.some((table) => mentions(query, table)) && !/"users"/.test(query)) return;
    audit.checked++;
    const problem = scopeProblem(query, params, userId);
    if (!problem) return;
    const report = `${problem}:\n  ${query}\n  params: ${JSON.stringify(params)}`;
    audit.violations.push(report);
    throw new Error(`query audit: a statement ${report}`);
  },
};
