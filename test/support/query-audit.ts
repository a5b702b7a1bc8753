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

/** Why `query` is not scoped to `userId`, or undefined when it is. */
export function scopeProblem(query: string, params: unknown[], userId: string): string | undefined {
  const newUser = /insert into "users" \("id"\) values \((\$\d+)\)/i.exec(query);
  if (newUser && param(params, newUser[1]) !== userId) return "creates a user other than the caller";
  if (!/\btodos\b/i.test(query)) return undefined;

  const insert = /insert into "?todos"? \(([^)]*)\) values \(([^)]*)\)/i.exec(query);
  if (insert) {
    const columns = (insert[1] ?? "").split(",").map((c) => c.trim());
    const values = (insert[2] ?? "").split(",").map((v) => v.trim());
    const owner = param(params, values[columns.indexOf('"user_id"')]);
    return owner === userId ? undefined : `inserts a todo for ${owner ?? "an unbound user_id"}, not the caller`;
  }
  const where = /\bwhere\b(.*?)(\border by\b|\breturning\b|\blimit\b|$)/is.exec(query)?.[1];
  if (!where) return "reads or writes todos with no WHERE clause";
  // An OR could widen the user predicate to other rows.
  if (/\bor\b/i.test(where)) return "has OR in its WHERE clause";
  const owner = /"todos"\."user_id" = (\$\d+)/.exec(where)?.[1];
  if (!owner) return "has no user_id predicate";
  return param(params, owner) === userId ? undefined : "is scoped to another user";
}

export const auditLogger: Logger = {
  logQuery(query, params) {
    const userId = caller.getStore();
    if (!userId) {
      if (/\btodos\b/i.test(query)) audit.unaudited++;
      return;
    }
    if (!/\btodos\b|"users"/i.test(query)) return;
    audit.checked++;
    const problem = scopeProblem(query, params, userId);
    if (!problem) return;
    const report = `${problem}:\n  ${query}\n  params: ${JSON.stringify(params)}`;
    audit.violations.push(report);
    throw new Error(`query audit: a statement ${report}`);
  },
};
