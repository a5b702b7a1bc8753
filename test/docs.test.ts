// The API documents itself: an OpenAPI 3 document, and a reference page that works offline.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { createApp } from "../src/app";
import { sharedDatabase, testClient } from "./support/api";

const api = testClient();
const operations = ["createTodo", "listTodos", "getTodo", "updateTodo", "deleteTodo", "getMe"];
// The change feed and its live stream; the bulk changes.
const syncOperations = ["listTodoChanges", "streamTodoChanges", "updateTodos", "deleteTodos"];
// The todo-app front end's routes (src/tasks/), under a tag of their own.
const taskOperations = [
  "createTask",
  "listTasks",
  "getTask",
  "replaceTask",
  "toggleTask",
  "completeTask",
  "deleteTask",
  "taskMetrics",
  "getProfile",
];

test("GET /docs/json describes the five operations and /me, and the todo-app's routes, with their bodies, answers and errors", async () => {
  const { status, json: doc } = await api.call("GET", "/docs/json");
  expect(status).toBe(200);
  expect(doc.openapi).toMatch(/^3\./);
  const ops = Object.values(
    doc.paths as Record<string, Record<string, { operationId: string; responses: object; requestBody?: object }>>,
  ).flatMap((methods) => Object.values(methods));
  expect(ops.map((op) => op.operationId).sort()).toEqual([...operations, ...syncOperations, ...taskOperations].sort());
  const tagged = ops.filter((op) => (op as { tags?: string[] }).tags?.includes("todo-app compatibility"));
  expect(tagged.map((op) => op.operationId).sort()).toEqual([...taskOperations].sort());
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
  expect(parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual([
    "completed",
    "cursor",
    "limit",
    "order",
    "priority",
    "q",
    "sort",
  ]);
  const ok = list.responses["200"];
  expect(ok.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/TodoPage" });
  expect(Object.keys(doc.components.schemas.TodoPage.properties).sort()).toEqual(["count", "items", "next_cursor", "total"]);
  expect(ok.headers.Link).toEqual({ $ref: "#/components/headers/Link" });
  expect(doc.components.headers.Link.description).toContain('rel="next"');
});

test("create and update take a JSON body of a named schema, the one Swagger UI's Try it out edits", async () => {
  const { json: doc } = await api.call("GET", "/docs/json");
  const bodyOf = (operation: { requestBody: { required: boolean; content: object } }) => operation.requestBody;
  expect(bodyOf(doc.paths["/api/v1/todos"].post)).toEqual({
    required: true,
    content: { "application/json": { schema: { $ref: "#/components/schemas/NewTodo" } } },
  });
  expect(bodyOf(doc.paths["/api/v1/todos/{id}"].patch)).toEqual({
    required: true,
    content: { "application/json": { schema: { $ref: "#/components/schemas/TodoChanges" } } },
  });
  expect(doc.components.schemas.NewTodo.required).toEqual(["title"]);
  expect(doc.components.schemas.TodoChanges.minProperties).toBe(1);
});

test("every answer's schema is a named component, and the error codes are listed once", async () => {
  const { json: doc, text } = await api.call("GET", "/docs/json");
  expect(Object.keys(doc.components.schemas).sort()).toEqual(
    [
      "BulkResult",
      "Caller",
      "ChangePage",
      "FieldError",
      "NewTodo",
      "Problem",
      "Todo",
      "TodoChange",
      "TodoChanges",
      "TodoPage",
      "Task",
      "TaskList",
      "TaskReplacement",
      "TaskMetrics",
      "Profile",
    ].sort(),
  );
  const schemas = Object.values(doc.paths as Record<string, Record<string, { responses: Record<string, { content?: object }> }>>)
    .flatMap((item) => Object.values(item))
    .flatMap((operation) => Object.values(operation.responses))
    // JSON answers; an event stream is text.
    .flatMap((response) => Object.entries(response.content ?? {}).filter(([type]) => type.endsWith("json")))
    .map(([, media]) => media as { schema: object })
    .map((media) => media.schema);
  expect(schemas.filter((schema) => !("$ref" in schema))).toEqual([]);
  expect(doc.components.schemas.TodoPage.properties.items.items).toEqual({ $ref: "#/components/schemas/Todo" });
  expect(doc.components.schemas.Problem.properties.field_errors.items).toEqual({ $ref: "#/components/schemas/FieldError" });
  expect(text.match(/TODO_LIMIT_REACHED/g)?.length).toBe(3); // the enum, and the 409s example of createTodo and createTask
});

test("integers are documented as integers, and every field error has a code", async () => {
  const { json: doc } = await api.call("GET", "/docs/json");
  const { TodoPage, Problem, FieldError } = doc.components.schemas;
  expect(TodoPage.properties.count).toMatchObject({ type: "integer" });
  expect(Problem.properties.status).toMatchObject({ type: "integer" });
  expect(FieldError.properties.limit).toMatchObject({ type: "integer" });
  expect(FieldError.required.sort()).toEqual(["code", "field", "message"]);
  expect(FieldError.properties.code.enum).toEqual(expect.arrayContaining(["required", "too_long", "not_allowed", "invalid_format"]));
});

test("the document names its servers and license, and the headers every answer carries", async () => {
  const { json: doc } = await api.call("GET", "/docs/json");
  expect(doc.servers).toEqual([{ url: "/", description: expect.any(String) }]);
  expect(doc.info.license.name).toBeTruthy();
  expect(Object.keys(doc.components.headers).sort()).toEqual([
    "Cache-Control",
    "ETag",
    "Idempotent-Replayed",
    "Link",
    "Location",
    "Retry-After",
    "Vary",
    "WWW-Authenticate",
    "X-Request-Id",
  ]);
  const create = doc.paths["/api/v1/todos"].post.responses;
  expect(Object.keys(create["201"].headers).sort()).toEqual(["ETag", "Idempotent-Replayed", "Location", "X-Request-Id"]);
  expect(Object.keys(create["401"].headers).sort()).toEqual(["WWW-Authenticate", "X-Request-Id"]);
  expect(Object.keys(create["503"].headers).sort()).toEqual(["Retry-After", "X-Request-Id"]);
  expect(create["413"].content["application/problem+json"].examples.tooLarge.value.error_code).toBe("PAYLOAD_TOO_LARGE");
});

test("the page at /docs and at /docs/ both load the document from /docs/json", async () => {
  for (const path of ["/docs", "/docs/"]) {
    const { status, text } = await api.call("GET", path);
    expect(status).toBe(200);
    expect(text).toContain('"url":"/docs/json"');
  }
});

test("the conditional and idempotency headers and their 304, 409, 412 and 422 answers are documented", async () => {
  const { json: doc } = await api.call("GET", "/docs/json");
  const headerNames = (operation: { parameters?: { in: string; name: string }[] }) =>
    (operation.parameters ?? []).filter((parameter) => parameter.in === "header").map((parameter) => parameter.name);
  const todo = doc.paths["/api/v1/todos/{id}"];
  const create = doc.paths["/api/v1/todos"].post;
  expect(headerNames(create)).toContain("idempotency-key");
  expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "409", "422"]));
  expect(create.responses["201"].headers).toHaveProperty("ETag");
  expect(create.responses["201"].headers).toHaveProperty("Idempotent-Replayed");
  expect(headerNames(todo.get)).toContain("if-none-match");
  expect(todo.get.responses["304"].description).toContain("Not Modified");
  expect(todo.get.responses["200"].headers).toHaveProperty("ETag");
  for (const change of [todo.patch, todo.delete]) {
    expect(headerNames(change)).toContain("if-match");
    expect(change.responses["412"].content["application/problem+json"].examples.changedSince.value.error_code).toBe("PRECONDITION_FAILED");
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
  "the reference page renders all five operations and /me in headless Chromium, offline, and Try it out sends a JSON body",
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
      // From /docs/ too: a relative document URL would resolve to /docs/docs/json there.
      await page.goto(`http://127.0.0.1:${server?.server?.port}/docs/`);
      await page.waitForSelector(".opblock", { timeout: 15_000 });
      await page.goto(`http://127.0.0.1:${server?.server?.port}/docs`);
      await page.waitForSelector(".opblock", { timeout: 15_000 });
      const summaries = await page.$$eval(".opblock-summary-path", (nodes) => nodes.map((n) => n.textContent?.trim()));
      const methods = await page.$$eval(".opblock-summary-method", (nodes) => nodes.map((n) => n.textContent?.trim()));
      // The five operations and /me, the feed and the stream, the bulk changes, and the todo-app's nine.
      expect(methods.sort()).toEqual(
        [
          ...["DELETE", "GET", "GET", "GET", "PATCH", "POST"],
          ...["GET", "GET", "PATCH", "DELETE"],
          ...["DELETE", "GET", "GET", "GET", "GET", "PUT", "PATCH", "POST", "POST"],
        ].sort(),
      );
      expect(summaries).toEqual(
        expect.arrayContaining([
          "/api/v1/todos",
          "/api/v1/todos/{id}",
          "/api/v1/todos/changes",
          "/api/v1/todos/events",
          "/api/v1/me",
          "/api/{user_id}/tasks",
          "/api/me",
        ]),
      );
      expect(offsite).toEqual([]);

      // Try it out on create: an editor holding an example body, and the request sends it as JSON.
      const sent = new Promise<{ type: string | undefined; body: string | null }>((resolve) =>
        page.on("request", (request) => {
          if (request.method() === "POST") resolve({ type: request.headers()["content-type"], body: request.postData() });
        }),
      );
      const create = page.locator(".opblock-post").first();
      await create.locator(".opblock-summary").click();
      await create.locator(".try-out__btn").click();
      const editor = create.locator("textarea.body-param__text");
      expect(JSON.parse(await editor.inputValue())).toMatchObject({ title: "Buy milk" });
      await create.locator(".execute").click();
      const request = await sent;
      expect(request.type).toContain("application/json");
      expect(JSON.parse(request.body ?? "{}")).toMatchObject({ title: "Buy milk" });
    } finally {
      await browser.close();
    }
  },
  90_000,
);
