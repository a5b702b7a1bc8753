// Security headers on every response; CORS only for the origins the deployment lists.
import { describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { newUserId, sharedDatabase, testClient } from "../support/api";

const api = testClient(createApp(sharedDatabase()));

test.each([
  ["a success", () => api.create(newUserId(), { title: "x" })],
  ["an error", () => api.get(newUserId(), "not-a-uuid")],
])("%s carries the security headers and is never cached", async (_, send) => {
  const { headers } = await send();
  expect(headers.get("x-content-type-options")).toBe("nosniff");
  expect(headers.get("cache-control")).toBe("no-store");
  expect(headers.get("x-frame-options")).toBe("DENY");
  expect(headers.get("content-security-policy")).toContain("default-src 'none'");
});

describe("CORS", () => {
  const preflight = (origin: string, app: { handle(r: Request): Promise<Response> } = api.app) =>
    app.handle(
      new Request("http://localhost/api/v1/todos", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      }),
    );

  test("is off by default: no Access-Control-Allow-Origin for anyone", async () => {
    const response = await preflight("https://app.example.com");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("with CORS_ORIGINS, only the listed origins are allowed", async () => {
    const { database, config } = sharedDatabase();
    const app = createApp({ database, config: { ...config, corsOrigins: ["https://app.example.com"] } });
    const allowed = await preflight("https://app.example.com", app);
    expect(allowed.status).toBeLessThan(300);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-methods")).toContain("PATCH");

    const other = await app.handle(
      new Request("http://localhost/api/v1/todos", { headers: { origin: "https://evil.example", "x-user-id": newUserId() } }),
    );
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("CORS on answers the gate refuses", () => {
  const origin = "https://app.example.com";
  const { database, config } = sharedDatabase();
  const listening = createApp({ database, config: { ...config, corsOrigins: [origin] } }).listen({ port: 0, hostname: "127.0.0.1" });
  test("a path spelled another way is a 404 a page can read (with Access-Control-Allow-Origin); PUT is allowed", async () => {
    try {
      const base = `http://127.0.0.1:${listening.server?.port}`;
      const refused = await fetch(`${base}/api/v1/todos/`, { headers: { origin, "x-user-id": newUserId() } });
      expect(refused.status).toBe(404);
      expect(refused.headers.get("access-control-allow-origin")).toBe(origin);
      const preflight = await fetch(`${base}/api/someone/tasks/${crypto.randomUUID()}`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "PUT" },
      });
      expect(preflight.headers.get("access-control-allow-methods")).toContain("PUT");
    } finally {
      listening.stop();
    }
  });
});
