// The API documents itself: an OpenAPI 3 document, and a reference page that works offline.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { createApp } from "../src/app";
import { sharedDatabase, testClient } from "./support/api";

const api = testClient();
const operations = ["createTodo", "listTodos", "getTodo", "updateTodo", "deleteTodo", "getMe"];

test("GET /docs/json describes the five operations and /me with their bodies, answers and errors", async () => {
  const { status, json: doc } = await api.call("GET", "/docs/json");
  expect(status).toBe(200);
  expect(doc.openapi).toMatch(/^3\./);
  const ops = Object.values(
    doc.paths as Record<string, Record<string, { operationId: string; responses: object; requestBody?: object }>>,
  ).flatMap((methods) => Object.values(methods));
  expect(ops.map((op) => op.operationId).sort()).toEqual([...operations].sort());
  const byId = Object.fromEntries(ops.map((op) => [op.operationId, op]));
  expect(Object.keys(byId.createTodo?.responses ?? {})).toEqual(expect.arrayContaining(["201", "400", "422", "503"]));
  expect(Object.keys(byId.getTodo?.responses ?? {})).toEqual(expect.arrayContaining(["200", "400", "404"]));
  expect(Object.keys(byId.deleteTodo?.responses ?? {})).toContain("204");
  expect(byId.createTodo?.requestBody).toBeDefined();
  expect(byId.updateTodo?.requestBody).toBeDefined();
  expect(JSON.stringify(doc)).toContain("error_code");
});

test("the list's parameters, its page answer and its Link header are documented", async () => {
  const { json: doc } = await api.call("GET", "/docs/json");
  const list = doc.paths["/api/v1/todos"].get;
  const parameters = list.parameters.filter((parameter: { in: string }) => parameter.in === "query");
  expect(parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(["completed", "cursor", "limit"]);
  const ok = list.responses["200"];
  expect(Object.keys(ok.content["application/json"].schema.properties).sort()).toEqual(["count", "items", "next_cursor"]);
  expect(ok.headers.link.description).toContain('rel="next"');
});

test("the conditional and idempotency headers and their 304, 409, 412 and 422 answers are documented", async () => {
  const { json: doc } = await api.call("GET", "/docs/json");
  const headerNames = (operation: { parameters?: { in: string; name: string }[] }) =>
    (operation.parameters ?? []).filter((parameter) => parameter.in === "header").map((parameter) => parameter.name);
  const todo = doc.paths["/api/v1/todos/{id}"];
  const create = doc.paths["/api/v1/todos"].post;
  expect(headerNames(create)).toContain("idempotency-key");
  expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "409", "422"]));
  expect(create.responses["201"].headers).toHaveProperty("etag");
  expect(create.responses["201"].headers).toHaveProperty("idempotent-replayed");
  expect(headerNames(todo.get)).toContain("if-none-match");
  expect(todo.get.responses["304"].description).toContain("Not Modified");
  expect(todo.get.responses["200"].headers).toHaveProperty("etag");
  for (const change of [todo.patch, todo.delete]) {
    expect(headerNames(change)).toContain("if-match");
    expect(change.responses["412"].description).toContain("PRECONDITION_FAILED");
  }
  expect(create.responses["422"].description).toContain("IDEMPOTENCY_KEY_REUSED");
});

test("GET /docs loads its script and stylesheet from this service, not a CDN", async () => {
  const { status, text } = await api.call("GET", "/docs");
  expect(status).toBe(200);
  const sources = [...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  expect(sources).toEqual(expect.arrayContaining(["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"]));
  expect(sources.filter((s) => s?.startsWith("http"))).toEqual([]);
  expect((await api.call("GET", "/docs/assets/swagger-ui-bundle.js")).status).toBe(200);
});

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.log(`skipped: the docs page browser test needs Chromium at ${chromiumPath} (apt-get install chromium)`);

let server: ReturnType<ReturnType<typeof createApp>["listen"]> | undefined;
beforeAll(() => {
  if (hasChromium) server = createApp(sharedDatabase()).listen({ port: 0, hostname: "127.0.0.1" });
});
afterAll(() => server?.stop());

test.skipIf(!hasChromium)(
  "the reference page renders all five operations and /me in headless Chromium, offline",
  async () => {
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      const offsite: string[] = [];
      // Anything not served by this service fails, as it would on a machine with no internet.
      await page.route("**/*", (route) => {
        const url = new URL(route.request().url());
        if (url.hostname === "127.0.0.1") return route.continue();
        offsite.push(url.href);
        return route.abort();
      });
      await page.goto(`http://127.0.0.1:${server?.server?.port}/docs`);
      await page.waitForSelector(".opblock", { timeout: 15_000 });
      const summaries = await page.$$eval(".opblock-summary-path", (nodes) => nodes.map((n) => n.textContent?.trim()));
      const methods = await page.$$eval(".opblock-summary-method", (nodes) => nodes.map((n) => n.textContent?.trim()));
      expect(methods.sort()).toEqual(["DELETE", "GET", "GET", "GET", "PATCH", "POST"]);
      expect(summaries).toEqual(expect.arrayContaining(["/api/v1/todos", "/api/v1/todos/{id}", "/api/v1/me"]));
      expect(offsite).toEqual([]);
    } finally {
      await browser.close();
    }
  },
  30_000,
);
