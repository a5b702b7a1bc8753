// docs/auth.md, "A page on another origin", followed to the letter: Better Auth on an origin of its own
// (docs/examples/auth-server.ts), the API on another, and a page on a third that signs up, takes a token
// and calls the API (docs/examples/page.ts, bundled for the browser), in headless Chromium.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { memoryAdapter } from "better-auth/adapters/memory";
import { type Browser, chromium } from "playwright-core";
import { authServer } from "../docs/examples/auth-server";
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
  const bundle = await Bun.build({ entrypoints: [new URL("../docs/examples/page.ts", import.meta.url).pathname], target: "browser" });
  const script = await bundle.outputs[0]?.text();
  pageSite.handle((request) =>
    new URL(request.url).pathname === "/page.js"
      ? new Response(script, { headers: { "content-type": "text/javascript" } })
      : new Response("<!doctype html><title>app</title>", { headers: { "content-type": "text/html" } }),
  );
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

test.skipIf(!hasChromium)(
  "a page on another origin signs up with Better Auth on a third and creates and lists its todos through the API",
  async () => {
    const page = await (browser as Browser).newPage();
    await page.goto(pageUrl);
    const email = `${crypto.randomUUID()}@example.com`;
    const args = { authUrl, apiUrl: api?.base ?? "", email, password: "correct horse battery" };
    type Seen = { created: number; location: string | null; todos: { items: { title: string }[] } };
    // The page's own script, as the browser loads it.
    const signInAndList = () =>
      page.evaluate(async (args) => {
        const script = "/page.js";
        return ((await import(script)) as { signInAndList(a: typeof args): Promise<Seen> }).signInAndList(args);
      }, args);
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
