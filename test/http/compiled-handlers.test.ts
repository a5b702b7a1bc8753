// Elysia compiles each route's handler from what its hooks read, found by reading their source. A hook
// that hands the whole context to a function defeats that: every request then parses its cookies,
// builds a cookie jar, parses the query and redefines `server` on the context, about a sixth of a
// retrieve's CPU (bench/results.md). No test with a timer can catch that; the compiled source can.
import { expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { sharedDatabase } from "../support/api";

test("no route's compiled handler parses cookies or redefines the context's server", () => {
  const app = createApp(sharedDatabase());
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
    expect({ route: `${route.method} ${route.path}`, definesServer: source.includes("'server'") }).toEqual({
      route: `${route.method} ${route.path}`,
      definesServer: false,
    });
  }
});
