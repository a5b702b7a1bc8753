// docs/auth.md, "A page on another origin", followed to the letter: Better Auth on an origin of its own
// (docs/examples/auth-server.ts), the API on another, and a page on a third that signs up, takes a token
// and calls the API (docs/examples/page.ts, bundled for the browser), then follows its todos live
// (docs/examples/events.ts: fetch and a stream reader, since EventSource cannot send Authorization), in headless Chromium.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { memoryAdapter } from "better-auth/adapters/memory";
import { type Browser, chromium, type Page } from "playwright-core";
import { authServer } from "../docs/examples/auth-server";
import type { followChanges, TodoChange } from "../docs/examples/events";
import { type Service, startService } from "./support/service";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.log(`skipped: the cross-origin sign-in test needs Chromium at ${chromiumPath} (apt-get install chromium)`);

let browser: Browser | undefined;
let api: Service | undefined;
const servers: { stop(force: boolean): unknown }[] = [];
const origin = (server: { port?: number }) => `http://127.0.0.1:${server.port}`;

/** A server on a free port whose handler is set once its own URL is known. */
function serve(): { url: string; handle(handler: (request: Request) => Response | Promise<Response>): void } {
  let handler: (request: Request) => Response | Promise<Response> = () => new Response(null, { status: 503 });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request) });
  servers.push(server);
  return { url: origin(server), handle: (next) => (handler = next) };
}

let pageUrl = "";
let authUrl = "";

beforeAll(async () => {
  if (!hasChromium) return;
  const pageSite = serve();
  const authSite = serve();
  pageUrl = pageSite.url;
  authUrl = authSite.url;
  const database = memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] });
  authSite.handle(authServer({ baseURL: authUrl, appOrigin: pageUrl, database }));
  // The page's scripts, each example bundled for the browser: /page.js and /events.js.
  const scripts = new Map<string, string>();
  for (const example of ["page", "events"]) {
    const bundle = await Bun.build({
      entrypoints: [new URL(`../docs/examples/${example}.ts`, import.meta.url).pathname],
      target: "browser",
    });
    scripts.set(`/${example}.js`, (await bundle.outputs[0]?.text()) ?? "");
  }
  pageSite.handle((request) => {
    const script = scripts.get(new URL(request.url).pathname);
    return script === undefined
      ? new Response("<!doctype html><title>app</title>", { headers: { "content-type": "text/html" } })
      : new Response(script, { headers: { "content-type": "text/javascript" } });
  });
  api = await startService({
    PGLITE_DATA_DIR: "memory://",
    AUTH_JWKS_URL: `${authUrl}/api/auth/jwks`,
    AUTH_ISSUER: authUrl,
    AUTH_AUDIENCE: authUrl,
    CORS_ORIGINS: pageUrl,
  });
  await api.ready();
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  for (const server of servers) server.stop(true);
});

/** The page's own script (docs/examples/page.ts), as the browser loads it: signs up or in, creates "Buy milk", lists. */
function signInAndListOn(page: Page, email: string) {
  const args = { authUrl, apiUrl: api?.base ?? "", email, password: "correct horse battery" };
  type Seen = { created: number; location: string | null; todos: { items: { id: string; title: string }[] } };
  return page.evaluate(async (args) => {
    const script = "/page.js";
    return ((await import(script)) as { signInAndList(a: typeof args): Promise<Seen> }).signInAndList(args);
  }, args);
}

test.skipIf(!hasChromium)(
  "a page on another origin signs up with Better Auth on a third and creates and lists its todos through the API",
  async () => {
    const page = await (browser as Browser).newPage();
    await page.goto(pageUrl);
    const email = `${crypto.randomUUID()}@example.com`;
    const signInAndList = () => signInAndListOn(page, email);
    const seen = await signInAndList();
    expect(seen.created).toBe(201);
    expect(seen.location).toStartWith("/api/v1/todos/");
    expect(seen.todos.items.map((todo) => todo.title)).toEqual(["Buy milk"]);
    // Signed in again, the same person finds the same todos: the same subject names the same user.
    const again = await signInAndList();
    expect(again.todos.items.map((todo) => todo.title)).toEqual(["Buy milk", "Buy milk"]);
  },
  90_000,
);

test.skipIf(!hasChromium)(
  "the page follows its todos live with fetch and its bearer token: the todos there were, each change after, and after Last-Event-ID only what came next",
  async () => {
    const page = await (browser as Browser).newPage();
    await page.goto(pageUrl);
    const { todos } = await signInAndListOn(page, `${crypto.randomUUID()}@example.com`);
    const args = { authUrl, apiUrl: api?.base ?? "", milk: todos.items[0]?.id ?? "" };
    type Event = { id: string; change: TodoChange };
    const seen = await page.evaluate(async ({ authUrl, apiUrl, milk }) => {
      const script = "/events.js";
      const events = (await import(script)) as { followChanges: typeof followChanges };
      // A token as the auth client's token() takes it: with the session cookie the sign-in left.
      const { token } = (await (await fetch(`${authUrl}/api/auth/token`, { credentials: "include" })).json()) as { token: string };
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const todos = `${apiUrl}/api/v1/todos`;

      /** A stream followed from `lastEventId`: until(n) waits for n events, and fails if the stream ends before. */
      function follow(lastEventId?: string) {
        const seen: Event[] = [];
        const stop = new AbortController();
        let arrived = () => {};
        const onChange = (change: TodoChange, id: string) => {
          seen.push({ id, change });
          arrived();
        };
        const following = events.followChanges({ apiUrl, token, lastEventId, onChange, signal: stop.signal });
        const ended = following.then(() => {
          if (!stop.signal.aborted) throw new Error(`the stream ended after ${seen.length} events`);
        });
        const arrivals = (count: number) =>
          new Promise<void>((resolve) => {
            arrived = () => seen.length >= count && resolve();
            arrived();
          });
        return {
          seen,
          // Bounded only so that a silent stream fails with what it sent, not at the test's timeout.
          async until(count: number) {
            let timer: ReturnType<typeof setTimeout> | undefined;
            const silent = new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`waiting for ${count} events, saw ${JSON.stringify(seen)}`)), 15_000);
            });
            await Promise.race([arrivals(count), ended, silent]).finally(() => clearTimeout(timer));
          },
          stop: () => {
            stop.abort();
            return following;
          },
        };
      }

      // What page JavaScript reads of the answers themselves: the stream's status and type, a refusal's problem.
      const answerOf = async (sent: Record<string, string>) => {
        const stop = new AbortController();
        const response = await fetch(`${todos}/events`, {
          headers: { authorization: headers.authorization, ...sent },
          signal: stop.signal,
        });
        const answer = {
          status: response.status,
          type: response.headers.get("content-type"),
          problem: response.ok ? null : await response.json(),
        };
        stop.abort();
        return answer;
      };
      const answers = [await answerOf({}), await answerOf({ "last-event-id": "not-a-token" })];

      const live = follow();
      await live.until(1);
      const call = (await (await fetch(todos, { method: "POST", headers, body: JSON.stringify({ title: "Call mum" }) })).json()) as {
        id: string;
      };
      await live.until(2);
      await fetch(`${todos}/${milk}`, { method: "DELETE", headers });
      await live.until(3);
      const lastEventId = await live.stop();
      // While the page is away: a change it does not see live.
      await fetch(todos, { method: "POST", headers, body: JSON.stringify({ title: "Pay rent" }) });
      const resumed = follow(lastEventId);
      await resumed.until(1);
      await fetch(`${todos}/${call.id}`, { method: "PATCH", headers, body: JSON.stringify({ is_completed: true }) });
      await resumed.until(2);
      await resumed.stop();
      return { answers, first: live.seen, lastEventId, resumed: resumed.seen };
    }, args);

    expect(seen.answers[0]).toEqual({ status: 200, type: "text/event-stream", problem: null });
    expect(seen.answers[1]).toMatchObject({ status: 400, type: "application/problem+json", problem: { error_code: "VALIDATION_ERROR" } });
    const described = (events: Event[]) =>
      events.map(({ change }) => (change.type === "delete" ? `delete ${change.id}` : `${change.todo.title} ${change.todo.is_completed}`));
    // The todo there was, then the page's own create and delete, as they happened.
    expect(described(seen.first)).toEqual(["Buy milk false", "Call mum false", `delete ${args.milk}`]);
    expect(seen.lastEventId).toBe(seen.first[2]?.id);
    // Resumed after the delete: the change made while away, then the next one live; nothing from before.
    expect(described(seen.resumed)).toEqual(["Pay rent false", "Call mum true"]);
    const ids = [...seen.first, ...seen.resumed].map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
  },
  90_000,
);
