// The conditions a change carries (RFC 9110 §13.1), read into the versions the store must find: shared by
// every route that changes a todo.

import { clientHasCurrent, etagOf, ifMatchVersions } from "../http/preconditions";
import type { ApiError } from "../http/problem";
import { preconditionFailed } from "./problems";
import type { GuardedOutcome, TodoStore } from "./store";

export type ConditionHeaders = { "if-match"?: string; "if-none-match"?: string };

/**
 * The versions a change to todo `id` requires: those If-Match names; with If-None-Match, the current
 * version, provided no tag it lists is current (`*` always is), so the change applies to the very
 * version that was checked, or answers 412. `missing` is the 404 of the route asking.
 */
export async function requiredVersions(
  store: TodoStore,
  userId: string,
  id: string,
  headers: ConditionHeaders,
  missing: () => ApiError,
): Promise<number[] | undefined> {
  const ifMatch = ifMatchVersions(headers["if-match"], id.toLowerCase());
  if (headers["if-none-match"] === undefined) return ifMatch;
  const current = await store.version(userId, id);
  if (current === undefined) throw missing();
  const currentIsListed = clientHasCurrent(headers["if-none-match"], etagOf(id.toLowerCase(), current));
  if (currentIsListed || (ifMatch && !ifMatch.includes(current))) throw preconditionFailed();
  return [current];
}

/** The answer of a change guarded by If-Match: `missing` (the route's 404) and 412 as problems, else what was changed. */
export function guarded<T>(outcome: GuardedOutcome<T>, missing: () => ApiError): T {
  if (outcome === "missing") throw missing();
  if (outcome === "version-differs") throw preconditionFailed();
  return outcome;
}
