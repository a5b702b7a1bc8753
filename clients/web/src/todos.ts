// What a screen needs: each call's answer, or the problem's error_code for the screen to act on.
import type { TodoApi } from "./api";

type Outcome<T> = { ok: true; value: T } | { ok: false; status: number; errorCode: string; fields: Record<string, string> };

/** Field errors by field, each its stable code: a front end translates the code, not the English message. */
function failed(error: { status: number; value: { error_code: string; field_errors?: { field: string; code: string }[] } }) {
  const fields = Object.fromEntries((error.value.field_errors ?? []).map(({ field, code }) => [field, code]));
  return { ok: false as const, status: error.status, errorCode: error.value.error_code, fields };
}

export async function addTodo(api: TodoApi, title: string, description?: string) {
  const { data, error } = await api.api.v1.todos.post({ title, description });
  if (error) return failed(error);
  // Dates stay ISO strings: created_at is a string, typed and at run time.
  const createdAt: string = data.created_at;
  return { ok: true as const, value: { ...data, created_at: createdAt } };
}

export async function firstPage(api: TodoApi, completed?: boolean) {
  const query = completed === undefined ? {} : { completed };
  const { data, error } = await api.api.v1.todos.get({ query });
  // 304 only answers a request that sent If-None-Match, which this call does not.
  if (error?.status === 304) return { ok: false as const, status: 304, errorCode: "NOT_MODIFIED", fields: {} };
  return error ? failed(error) : { ok: true as const, value: data };
}

export async function openTodo(api: TodoApi, id: string) {
  const { data, error } = await api.api.v1.todos({ id }).get();
  if (error?.status === 404) return { ok: false as const, status: 404, errorCode: error.value.error_code, fields: {} };
  // 304 only answers a request that sent If-None-Match, which this call does not.
  if (error?.status === 304) return { ok: false as const, status: 304, errorCode: "NOT_MODIFIED", fields: {} };
  return error ? failed(error) : { ok: true as const, value: data };
}

export async function completeTodo(api: TodoApi, id: string) {
  const { data, error } = await api.api.v1.todos({ id }).patch({ is_completed: true });
  return error ? failed(error) : { ok: true as const, value: data };
}

export async function deleteTodo(api: TodoApi, id: string): Promise<Outcome<null>> {
  const { error } = await api.api.v1.todos({ id }).delete();
  return error ? failed(error) : { ok: true, value: null };
}
