import { describe, expect, test } from "bun:test";
import { ConfigError, readConfig } from "../src/config";

describe("readConfig", () => {
  test("metrics are on unless METRICS=off; traces are off unless an OTLP endpoint is set", () => {
    expect(readConfig({}).metrics).toBe(true);
    expect(readConfig({ METRICS: "off" }).metrics).toBe(false);
    expect(() => readConfig({ METRICS: "no" })).toThrow("METRICS must be one of on, off");
    expect(readConfig({}).tracing).toBeUndefined();
    expect(readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/", OTEL_SERVICE_NAME: "todos" }).tracing).toEqual({
      tracesUrl: "http://collector:4318/v1/traces",
      serviceName: "todos",
    });
    expect(readConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://c.example/otlp/traces" }).tracing).toEqual({
      tracesUrl: "https://c.example/otlp/traces",
      serviceName: "todo-api",
    });
    expect(() => readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow(
      "OTEL_EXPORTER_OTLP_ENDPOINT must be an http or https URL",
    );
    expect(() => readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      "must be http/json",
    );
  });

  test("the change feed remembers deletes 30 days and streams beat every 15 s unless told; a duration names its unit", () => {
    expect(readConfig({}).sync).toEqual({ retentionS: 30 * 86_400, heartbeatS: 15, maxStreamsPerUser: 10, maxStreams: 10_000 });
    expect(readConfig({ SYNC_RETENTION: "12h" }).sync.retentionS).toBe(43_200);
    expect(readConfig({ SYNC_RETENTION: "90s" }).sync.retentionS).toBe(90);
    for (const bad of ["30", "0d", "1w", "-1d", "1.5d", "4000d"]) {
      expect(() => readConfig({ SYNC_RETENTION: bad }), bad).toThrow("SYNC_RETENTION must be a duration such as 30d");
    }
    expect(() => readConfig({ MAX_STREAMS_PER_USER: "0" })).toThrow("MAX_STREAMS_PER_USER must be an integer from 1");
  });

  test("the port is shared only when asked, and never over the embedded database", () => {
    expect(readConfig({}).reusePort).toBe(false);
    expect(readConfig({ REUSE_PORT: "true", DATABASE_URL: "postgres://u@db.internal/app" }).reusePort).toBe(true);
    expect(() => readConfig({ REUSE_PORT: "true" })).toThrow("the embedded database belongs to one process");
  });

  test("with nothing set, the service runs on the embedded database under .data/", () => {
    const config = readConfig({});
    expect(config.port).toBe(3000);
    expect(config.host).toBe("127.0.0.1");
    expect(config.maxTodosPerUser).toBe(10_000);
    expect(config.bodyTimeoutMs).toBe(10_000);
    expect(config.bodyLimitBytes).toBe(65536);
    expect(config.database).toMatchObject({ driver: "pglite", url: undefined, pgliteDataDir: ".data/pglite", poolMax: 10 });
  });

  test("authentication is off (header mode) and CORS closed unless configured", () => {
    const config = readConfig({});
    expect(config.auth).toEqual({ mode: "header" });
    expect(config.corsOrigins).toEqual([]);
    const bearer = readConfig({
      AUTH_JWKS_URL: "https://auth.example/jwks",
      AUTH_ISSUER: "https://auth.example/",
      CORS_ORIGINS: "https://a.example, https://b.example",
    });
    expect(bearer.auth).toMatchObject({ mode: "jwks", issuer: "https://auth.example/" });
    expect(bearer.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
  });

  test("a Postgres URL selects Bun's client; a *.neon.tech host selects the Neon driver", () => {
    expect(readConfig({ DATABASE_URL: "postgres://u@db.internal/app" }).database.driver).toBe("bun");
    const neon = readConfig({ NEON_DATABASE_URL: "postgresql://u:p@ep-cool-1.eu-central-1.aws.neon.tech/app?sslmode=require" });
    expect(neon.database).toMatchObject({ driver: "neon", url: expect.stringContaining("neon.tech") });
  });

  test("migrations use Neon's direct endpoint, since the pooled one cannot hold their session lock", () => {
    const pooled = readConfig({ DATABASE_URL: "postgresql://u:p@ep-cool-1-pooler.eu-central-1.aws.neon.tech/app?sslmode=require" });
    expect(pooled.database.url).toContain("ep-cool-1-pooler.");
    expect(pooled.database.migrationUrl).toBe("postgresql://u:p@ep-cool-1.eu-central-1.aws.neon.tech/app?sslmode=require");
    expect(readConfig({ DATABASE_URL: "postgres://u@db-pooler.internal/app" }).database.migrationUrl).toBe(
      "postgres://u@db-pooler.internal/app",
    );
  });

  test("NEON_DATABASE_URL wins over DATABASE_URL, and DATABASE_DRIVER forces a driver", () => {
    const config = readConfig({ NEON_DATABASE_URL: "postgres://a/neon", DATABASE_URL: "postgres://b/plain", DATABASE_DRIVER: "neon" });
    expect(config.database).toMatchObject({ driver: "neon", url: "postgres://a/neon" });
    expect(readConfig({ DATABASE_URL: "postgres://b/x", DATABASE_DRIVER: "pglite" }).database.driver).toBe("pglite");
  });

  test.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ DB_POOL_MAX: "0" }, "DB_POOL_MAX"],
    [{ BODY_LIMIT_BYTES: "1.5" }, "BODY_LIMIT_BYTES"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ DATABASE_URL: "mysql://x/y" }, "DATABASE_URL"],
    [{ DATABASE_URL: "not a url" }, "DATABASE_URL"],
    [{ DATABASE_DRIVER: "oracle" }, "DATABASE_DRIVER"],
    [{ DATABASE_DRIVER: "bun" }, "DATABASE_DRIVER"],
    [{ AUTH_JWKS_URL: "https://auth.example/.well-known/jwks.json" }, "AUTH_ISSUER"],
    [{ AUTH_JWKS_URL: "file:///etc/keys", AUTH_ISSUER: "x" }, "AUTH_JWKS_URL"],
    [{ AUTH_JWT_SECRET: "short" }, "AUTH_JWT_SECRET"],
    [{ AUTH_JWKS_URL: "http://auth.example/jwks", AUTH_ISSUER: "x" }, "https"],
    [{ AUTH_ISSUER: "https://auth.example/" }, "AUTH_JWKS_URL"],
    [{ AUTH_JWKS_URI: "https://auth.example/jwks", AUTH_ISSUER: "x" }, "AUTH_JWKS_URI"],
    [{ CORS_ORIGINS: "https://app.example.com/path" }, "CORS_ORIGINS"],
  ])("a bad value (%o) is refused, naming %s", (env, name) => {
    expect(() => readConfig(env)).toThrow(ConfigError);
    expect(() => readConfig(env)).toThrow(name);
  });
});

test("the service refuses to start on a bad value, with one line naming the variable", async () => {
  const child = Bun.spawn(["bun", "src/index.ts"], {
    env: { ...process.env, PORT: "eighty", DATABASE_URL: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await child.exited).toBe(1);
  const stderr = (await new Response(child.stderr).text()).trim();
  expect(stderr.split("\n")).toHaveLength(1);
  expect(stderr).toContain("PORT");
});
