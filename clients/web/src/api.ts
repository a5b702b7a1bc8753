// The front end's one door to the API: Eden Treaty, typed by the API's App type.
import { treaty } from "@elysiajs/eden";
import type { App } from "todo-api-types";

export type TodoApi = ReturnType<typeof todoApi>;

/**
 * `headers` names the caller on every call: { authorization: `Bearer ${token}` } in bearer mode, or the
 * X-User-Id a trusted gateway would set. parseDate: false keeps strings as the API sent them: by default
 * Eden turns every date-looking string (created_at, and a title such as "2026-12-01") into a Date.
 */
export function todoApi(baseUrl: string, headers: () => Record<string, string>) {
  return treaty<App>(baseUrl, { parseDate: false, headers });
}
