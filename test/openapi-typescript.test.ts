// A client generated from the OpenAPI document compiles and works: openapi-typescript turns this app's
// /docs/json into types, tsc checks a small openapi-fetch client against them, and the client runs.

import { afterAll, expect, mock, test } from "bun:test";
import { fileURLToPath } from "node:url";
import ts5 from "typescript-5";
import { createApp } from "../src/app";
import { sharedDatabase } from "./support/api";

// openapi-typescript builds its output with TypeScript 5's compiler API, which TypeScript 7 (this
// project's tsc) no longer has; typescript-5 is that API, as a dev dependency of its own.
mock.module("typescript", () => ({ default: ts5, ...ts5 }));
const { default: openapiTS, astToString } = await import("openapi-typescript");

const fixture = new URL("./fixtures/openapi-fetch/", import.meta.url);
const app = createApp(sharedDatabase());
const server = app.listen({ port: 0, hostname: "127.0.0.1" });
afterAll(() => server.stop());

test("types generated from /docs/json type-check a client doing all five operations and reading error codes", async () => {
  const base = `http://127.0.0.1:${server.server?.port}`;
  const document = await (await fetch(`${base}/docs/json`)).json();
  await Bun.write(new URL("api.d.ts", fixture), astToString(await openapiTS(document)));
  const tsc = Bun.spawnSync(["bunx", "tsc", "-p", fileURLToPath(new URL("tsconfig.json", fixture))], { stdout: "pipe", stderr: "pipe" });
  expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
  expect(tsc.exitCode).toBe(0);

  // Imported by URL, so that the project's own tsc, run before ./api.d.ts exists, does not follow it.
  const { tour } = (await import(new URL("client.ts", fixture).href)) as {
    tour: (baseUrl: string, headers: Record<string, string>) => Promise<{ todo: { id: string }; [key: string]: unknown }>;
  };
  const user = crypto.randomUUID();
  const seen = await tour(base, { "x-user-id": user });
  expect(seen).toEqual({
    todo: expect.objectContaining({ title: "2026-12-01", description: null, is_completed: false, user_id: user }),
    location: `/api/v1/todos/${seen.todo.id}`,
    count: 1,
    title: "2026-12-01",
    current: "current",
    completed: true,
    removed: 204,
    notFound: "NOT_FOUND",
    fieldCodes: ["title:too_long:255"],
  });
}, 30_000);
