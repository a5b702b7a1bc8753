// Drives the app in-process, the way a front end would call it.
import { createApp } from "../../src/app";
import type { TestDatabase } from "./database";

export function sharedDatabase(): TestDatabase {
  const shared = (globalThis as { __todoTestDatabase?: TestDatabase }).__todoTestDatabase;
  if (!shared) throw new Error("test/support/preload.ts did not run; run the tests with `bun test`");
  return shared;
}

export const newUserId = () => crypto.randomUUID();

type Options = { user?: string | null; body?: unknown; headers?: Record<string, string> };

export function testClient(app = createApp(sharedDatabase())) {
  async function call(method: string, path: string, { user, body, headers = {} }: Options = {}) {
    const init: RequestInit = { method, headers: { ...headers } };
    const h = init.headers as Record<string, string>;
    if (user) h["x-user-id"] = user;
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const response = await app.handle(new Request(`http://localhost${path}`, init));
    const text = await response.text();
    const json = text && /json/.test(response.headers.get("content-type") ?? "") ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, text, json };
  }
  return {
    app,
    call,
    create: (user: string, body: unknown) => call("POST", "/api/v1/todos", { user, body }),
    list: (user: string) => call("GET", "/api/v1/todos", { user }),
    get: (user: string, id: string) => call("GET", `/api/v1/todos/${id}`, { user }),
    update: (user: string, id: string, body: unknown) => call("PATCH", `/api/v1/todos/${id}`, { user, body }),
    remove: (user: string, id: string) => call("DELETE", `/api/v1/todos/${id}`, { user }),
  };
}
