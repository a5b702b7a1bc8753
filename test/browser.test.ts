// A front end on another origin, as a browser runs it: a page served from one local port whose own
// JavaScript calls the API, a real process on another port, in headless Chromium. What the page can read
// of an answer is what CORS exposes, and what reaches the service is what the browser's cache lets through.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { keysUnavailable, missingToken } from "../src/auth/bearer";
import type { Todo } from "../src/todos/model";
import { createServerDatabase } from "./support/database";
import { AUDIENCE, type AuthServer, ISSUER, startAuthServer } from "./support/jwks";
import { type Service, startService } from "./support/service";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.log(`skipped: the browser tests need Chromium at ${chromiumPath} (apt-get install chromium)`);

/** What page JavaScript can read of an answer: its status, final URL, the headers CORS lets it see, its body. */
type Seen = { status: number; url: string; headers: Record<string, string>; body: string };
type PageRequest = { method?: string; headers?: Record<string, string>; body?: string };

/** A fetch made by the page's own script, with the browser's default cache mode. */
function fetchFromPage(page: Page, url: string, request: PageRequest = {}): Promise<Seen> {
  return page.evaluate(
    async ({ url, request }) => {
      const response = await fetch(url, request);
      return { status: response.status, url: response.url, headers: Object.fromEntries(response.headers), body: await response.text() };
    },
    { url, request },
  );
}

type RequestLine = { msg: string; method: string; route: string; status: number; request_id: string };

/** The request lines (observability/request-log.ts) in the service's log, in the order they were written. */
function requestsLogged(service: Service): RequestLine[] {
  // What follows the last newline is a line not yet complete, or nothing.
  const lines = service.output().split("\n").slice(0, -1);
  return lines.map((line) => JSON.parse(line) as RequestLine).filter((line) => line.msg === "request");
}

/** Waits for `count` logged requests that match, past the first `skip` (a line is written once its answer is sent). */
async function waitForLogged(service: Service, matches: (line: RequestLine) => boolean, count: number, skip = 0) {
  const logged = () => requestsLogged(service).slice(skip).filter(matches);
  const until = Date.now() + 10_000;
  while (logged().length < count && Date.now() < until) await Bun.sleep(25);
  return logged();
}

const json = { "content-type": "application/json" };
const bodyOf = <T>(seen: Seen) => JSON.parse(seen.body) as T;

let browser: Browser | undefined;
let auth: AuthServer | undefined;
let frontEnd: ReturnType<typeof Bun.serve> | undefined;
/** The API in bearer mode, its keys from the local auth server. */
let api: Service | undefined;
/** The same API whose auth server cannot be reached: every bearer token is 503, keys unavailable. */
let keysAway: Service | undefined;
let dropDatabase = async () => {};

/** Where the API keeps its todos: its own memory, or with TEST_DATABASE_URL a new database on that server. */
async function apiDatabase(): Promise<Record<string, string>> {
  if (!process.env.TEST_DATABASE_URL) return { PGLITE_DATA_DIR: "memory://" };
  // Unmigrated: the service migrates it as it starts, as in a deployment.
  const { config, drop } = await createServerDatabase({}, { migrated: false });
  dropDatabase = drop;
  const { url = "", driver, neonWsProxy } = config.database;
  return { DATABASE_URL: url, DATABASE_DRIVER: driver, ...(neonWsProxy && { NEON_WS_PROXY: neonWsProxy }) };
}

/** A local port nothing listens on. */
function closedPort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const { port } = server;
  server.stop(true);
  return port ?? 1;
}

beforeAll(async () => {
  if (!hasChromium) return;
  auth = await startAuthServer();
  frontEnd = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("<!doctype html><title>A front end</title>", { headers: { "content-type": "text/html" } }),
  });
  const bearerMode = (jwksUrl: string) => ({
    AUTH_JWKS_URL: jwksUrl,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    CORS_ORIGINS: `http://127.0.0.1:${frontEnd?.port}`,
  });
  [api, keysAway] = await Promise.all([
    startService({ ...(await apiDatabase()), ...bearerMode(auth.jwksUrl) }),
    startService({ PGLITE_DATA_DIR: "memory://", ...bearerMode(`http://127.0.0.1:${closedPort()}/.well-known/jwks.json`) }),
  ]);
  await Promise.all([api.ready(), keysAway.ready()]);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}, 200_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([api?.stop(), keysAway?.stop()]);
  await auth?.stop();
  frontEnd?.stop(true);
  await dropDatabase();
});

/** A page at `url` in a fresh browser profile (a cache of its own). */
async function onPage<T>(url: string, use: (page: Page) => Promise<T>): Promise<T> {
  const context = await (browser as Browser).newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    return await use(page);
  } finally {
    await context.close();
  }
}

/** The front end's page, on an origin of its own. */
const onFrontEnd = <T>(use: (page: Page) => Promise<T>) => onPage(`http://127.0.0.1:${frontEnd?.port}/`, use);

/** The Authorization header of a new user, signed by the local auth server. */
const newCaller = async () => ({ authorization: `Bearer ${await (auth as AuthServer).sign({ sub: crypto.randomUUID() })}` });

test.skipIf(!hasChromium)(
  "page JavaScript can read every header a client is told to use",
  () =>
    onFrontEnd(async (page) => {
      const { base } = api as Service;
      const todos = `${base}/api/v1/todos`;
      const caller = await newCaller();
      const keyed = {
        method: "POST",
        headers: { ...caller, ...json, "idempotency-key": crypto.randomUUID() },
        body: JSON.stringify({ title: "Buy milk" }),
      };

      // A create: where the todo is, its version, and the id the service logged the request under.
      const created = await fetchFromPage(page, todos, keyed);
      expect(created.status).toBe(201);
      const todo = bodyOf<Todo>(created);
      expect(created.headers.location).toBe(`/api/v1/todos/${todo.id}`);
      expect(created.headers.etag).toMatch(/^"[^"]+"$/);
      const read = await fetchFromPage(page, `${base}${created.headers.location}`, { headers: caller });
      expect(read.status).toBe(200);
      expect(read.headers.etag).toBe(created.headers.etag as string);
      const requestId = created.headers["x-request-id"];
      expect(requestId).toBeString();
      const logged = await waitForLogged(api as Service, (line) => line.request_id === requestId, 1);
      expect(logged).toEqual([expect.objectContaining({ method: "POST", route: "/api/v1/todos", status: 201 })]);

      // The same create again: the original answer, marked as replayed.
      expect(created.headers["idempotent-replayed"]).toBeUndefined();
      const replayed = await fetchFromPage(page, todos, keyed);
      expect(replayed.status).toBe(201);
      expect(replayed.headers["idempotent-replayed"]).toBe("true");
      expect(replayed.headers.location).toBe(created.headers.location as string);
      expect(bodyOf<Todo>(replayed).id).toBe(todo.id);

      // Two todos, a page of one: Link leads to the other, and the last page has none.
      const second = await fetchFromPage(page, todos, {
        method: "POST",
        headers: { ...caller, ...json },
        body: '{"title":"Walk the dog"}',
      });
      expect(second.status).toBe(201);
      const firstPage = await fetchFromPage(page, `${todos}?limit=1`, { headers: caller });
      const next = /^<([^>]+)>; rel="next"$/.exec(firstPage.headers.link ?? "")?.[1];
      expect(next).toStartWith("/api/v1/todos?");
      const lastPage = await fetchFromPage(page, new URL(next as string, firstPage.url).href, { headers: caller });
      const titles = [firstPage, lastPage].flatMap((seen) => bodyOf<{ items: Todo[] }>(seen).items.map((item) => item.title));
      expect(titles).toEqual(["Walk the dog", "Buy milk"]);
      expect(lastPage.headers.link).toBeUndefined();

      // No token: the challenge that says how to authenticate.
      const anonymous = await fetchFromPage(page, todos);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers["www-authenticate"]).toBe(missingToken().headers?.["www-authenticate"] as string);
      expect(anonymous.headers["x-request-id"]).toBeString();

      // The auth server's keys cannot be fetched: when to try again.
      const unavailable = await fetchFromPage(page, `${(keysAway as Service).base}/api/v1/todos`, { headers: caller });
      expect(unavailable.status).toBe(503);
      expect(unavailable.headers["retry-after"]).toBe(keysUnavailable().headers?.["retry-after"] as string);
      expect(unavailable.headers["x-request-id"]).toBeString();
    }),
  90_000,
);

test.skipIf(!hasChromium)(
  "the browser revalidates a todo and a page of the list by itself",
  () =>
    onFrontEnd(async (page) => {
      const service = api as Service;
      const todos = `${service.base}/api/v1/todos`;
      const caller = await newCaller();
      const created = await fetchFromPage(page, todos, { method: "POST", headers: { ...caller, ...json }, body: '{"title":"Buy milk"}' });
      expect(created.status).toBe(201);
      const todo = `${service.base}${created.headers.location}`;
      const earlier = requestsLogged(service).length;

      // Only Authorization is sent: any If-None-Match is the browser's own.
      const read = () => fetchFromPage(page, todo, { headers: caller });
      const list = () => fetchFromPage(page, todos, { headers: caller });
      for (const reads of [
        [await read(), await read()],
        [await list(), await list()],
      ]) {
        expect(reads.map((seen) => seen.status)).toEqual([200, 200]);
        expect(reads[1]?.body).toBe(reads[0]?.body as string);
      }

      const changed = await fetchFromPage(page, todo, { method: "PATCH", headers: { ...caller, ...json }, body: '{"is_completed":true}' });
      expect(changed.status).toBe(200);
      expect(bodyOf<Todo>(changed).is_completed).toBe(true);
      const [readAfter, listAfter] = [await read(), await list()];
      expect(readAfter.status).toBe(200);
      expect(bodyOf<Todo>(readAfter)).toEqual(bodyOf<Todo>(changed));
      expect(bodyOf<{ items: Todo[] }>(listAfter).items).toEqual([bodyOf<Todo>(changed)]);

      // What the service answered, from its own log: the copy kept was revalidated (304), then replaced.
      const statuses = async (route: string) =>
        (await waitForLogged(service, (line) => line.method === "GET" && line.route === route, 3, earlier)).map((line) => line.status);
      expect(await statuses("/api/v1/todos/:id")).toEqual([200, 304, 200]);
      expect(await statuses("/api/v1/todos")).toEqual([200, 304, 200]);
    }),
  90_000,
);

test.skipIf(!hasChromium)(
  "Swagger UI in bearer mode asks only for a bearer token, and Try it out starts from real bodies",
  () =>
    onPage(`${api?.base}/docs`, async (page) => {
      await page.waitForSelector(".opblock", { timeout: 30_000 });

      await page.locator(".btn.authorize").click();
      const schemes = await page.locator(".modal-ux .auth-container").allInnerTexts();
      expect(schemes).toHaveLength(1);
      expect(schemes[0]).toContain("bearerAuth");
      expect(schemes[0]).toContain("Bearer");
      expect(schemes[0]).not.toMatch(/x-user-id/i);
      await page.locator(".modal-ux .close-modal").click();

      for (const operation of await page.locator(".opblock").all()) {
        await operation.locator(".opblock-summary").click();
        await operation.locator(".try-out__btn").click();
      }
      const parameters = await page
        .locator("tr[data-param-name]")
        .evaluateAll((rows) => rows.map((row) => `${row.getAttribute("data-param-in")} ${row.getAttribute("data-param-name")}`));
      expect(parameters).toEqual(expect.arrayContaining(["path id", "header idempotency-key", "header if-match"]));
      expect(parameters.filter((parameter) => /x-user-id|authorization/i.test(parameter))).toEqual([]);

      const prefilled = async (operation: string) => {
        const text = await page.locator(`[id$="-${operation}"] textarea.body-param__text`).inputValue();
        expect(text).not.toContain('"string"');
        return JSON.parse(text) as Record<string, unknown>;
      };
      const change = await prefilled("updateTodo");
      expect(Object.keys(change)).toEqual(["is_completed"]);
      expect(change.is_completed).toBeBoolean();
      for (const operation of ["createTodo", "createTask"]) {
        const create = await prefilled(operation);
        expect(create).toEqual({ title: expect.any(String), description: expect.any(String), priority: expect.any(String) });
        for (const text of Object.values(create)) expect(text).not.toBeOneOf(["", "string"]);
      }
      // A replacement names every field: the example is a whole task, with real words.
      expect(await prefilled("replaceTask")).toEqual({ title: "Buy milk", description: null, is_completed: false, priority: "Medium" });
    }),
  90_000,
);
