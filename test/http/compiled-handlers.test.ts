// Elysia compiles each route's handler from what its hooks read, found by reading their source. A hook
// that hands the whole context to a function defeats that: every request then parses its cookies,
// builds a cookie jar, parses the query and redefines `server` on the context, about a sixth of a
// retrieve's CPU (bench/results.md). No test with a timer can catch that; the compiled source can.
import { expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { readConfig } from "../../src/config";
import { createLogger } from "../../src/log";
import { sharedDatabase } from "../support/api";

// Which hooks exist depends on the configuration: the request log's only at LOG_LEVEL info or lower,
// the metrics' only with METRICS on. So the app is built with the service's defaults, as index.ts
// builds it, and the suite's silent level would hide the request log's hook. Its lines go to an array.
function appAsStartedByDefault() {
  const defaults = readConfig({ PGLITE_DATA_DIR: "memory://" });
  const { database, config } = sharedDatabase();
  const logLines: string[] = [];
  const logger = createLogger(defaults.logLevel, (line) => logLines.push(line));
  const app = createApp({ database, config: { ...config, logLevel: defaults.logLevel, metrics: defaults.metrics }, logger });
  return { app, logLines };
}

test("the app under test runs the request log, as the service does by default", async () => {
  const { app, logLines } = appAsStartedByDefault();
  expect((await app.handle(new Request("http://localhost/health"))).status).toBe(200);
  // The request log writes after the response has gone.
  for (let tick = 0; tick < 50 && logLines.length === 0; tick++) await Bun.sleep(1);
  expect(logLines.map((line) => JSON.parse(line))).toContainEqual(expect.objectContaining({ msg: "request", route: "/health" }));
});

test("no route's compiled handler parses cookies or redefines the context's server", () => {
  const { app } = appAsStartedByDefault();
  app.compile();
  const routes = (app.routes as unknown as { method: string; path: string; compile?: () => unknown }[]).filter(
    (route) => route.path.startsWith("/api/") && route.compile,
  );
  expect(routes.length).toBeGreaterThanOrEqual(6);
  for (const route of routes) {
    const source = String(route.compile?.());
    expect({ route: `${route.method} ${route.path}`, parsesCookies: source.includes("parseCookie") }).toEqual({
      route: `${route.method} ${route.path}`,
      parsesCookies: false,
    });
    // The live stream reads the server to lift its idle timeout: opened once, it lives for minutes.
    if (route.path === "/api/v1/todos/events") continue;
    expect({ route: `${route.method} ${route.path}`, definesServer: source.includes("'server'") }).toEqual({
      route: `${route.method} ${route.path}`,
      definesServer: false,
    });
  }
});
