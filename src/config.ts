// The only file that reads the environment. Everything else receives a typed Config.

export type DatabaseDriver = "pglite" | "bun" | "neon";

export type DatabaseConfig = {
  driver: DatabaseDriver;
  /** Postgres connection URL; absent for the embedded database. */
  url?: string;
  /** Where migrations run: a session of its own, so never through Neon's transaction pooler. */
  migrationUrl?: string;
  /** PGlite data directory, or `memory://`. */
  pgliteDataDir: string;
  poolMax: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  /** Local development only: a WebSocket-to-TCP relay in front of an ordinary Postgres. */
  neonWsProxy?: string;
};

/** Who the caller is: the trusted X-User-Id header, or a verified bearer JWT. */
export type AuthConfig =
  | { mode: "header" }
  | { mode: "jwks"; jwksUrl: URL; issuer: string; audience?: string; maxLifetimeS: number }
  | { mode: "secret"; secret: Uint8Array; issuer?: string; audience?: string; maxLifetimeS: number };

export type Config = {
  port: number;
  host: string;
  /** Several processes of one deployment share the port (SO_REUSEPORT); off, a port in use is an error. */
  reusePort: boolean;
  bodyLimitBytes: number;
  /** A request body must have arrived within this long; then 408. */
  bodyTimeoutMs: number;
  /** How many todos one user may keep; a create past it is 409. */
  maxTodosPerUser: number;
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  /** Origins allowed by CORS; empty turns CORS off. */
  corsOrigins: string[];
  auth: AuthConfig;
  database: DatabaseConfig;
  /** GET /metrics in the Prometheus text format; METRICS=off turns it off. */
  metrics: boolean;
  /** OpenTelemetry traces, sent over OTLP/HTTP (JSON); absent unless an OTLP endpoint is set. */
  tracing?: TracingConfig;
  sync: SyncConfig;
};

/** The change feed and its live streams. */
export type SyncConfig = {
  /** How long deletes are remembered for the feed; an older position is 410. */
  retentionS: number;
  /** A comment line on every open stream this often, so proxies keep it open. */
  heartbeatS: number;
  maxStreamsPerUser: number;
  /** Open streams on this instance, all users together. */
  maxStreams: number;
};

export type TracingConfig = {
  /** The full URL spans are POSTed to (…/v1/traces). */
  tracesUrl: string;
  serviceName: string;
};

export const logLevels = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** A duration such as 30d, 12h, 15m or 90s, in seconds. */
function duration(env: Env, name: string, fallbackS: number, minS: number, maxS: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallbackS;
  const match = /^([1-9]\d{0,8})([smhd])$/.exec(raw);
  const seconds = match ? Number(match[1]) * SECONDS_PER_UNIT[match[2] as keyof typeof SECONDS_PER_UNIT] : Number.NaN;
  if (!(seconds >= minS && seconds <= maxS)) {
    throw new ConfigError(`${name} must be a duration such as 30d, 12h, 15m or 90s, from ${minS} s to ${maxS / 86_400} days, got "${raw}"`);
  }
  return seconds;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

function postgresUrl(name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(`${name} must start with postgres:// or postgresql://, got "${url.protocol}//"`);
  }
  return url;
}

// Neon's pooled endpoint (PgBouncer, transaction mode) cannot hold the session advisory lock
// migrations take; the direct endpoint is the same host without "-pooler".
function directNeonUrl(raw: string): string {
  const url = new URL(raw);
  if (url.hostname.endsWith(".neon.tech")) url.hostname = url.hostname.replace("-pooler.", ".");
  return url.href;
}

function readDatabase(env: Env): DatabaseConfig {
  const urlName = env.NEON_DATABASE_URL?.trim() ? "NEON_DATABASE_URL" : "DATABASE_URL";
  const url = env[urlName]?.trim() || undefined;
  const host = url ? postgresUrl(urlName, url).hostname : undefined;
  const inferred: DatabaseDriver = !url ? "pglite" : host?.endsWith(".neon.tech") ? "neon" : "bun";
  const driver = oneOf(env, "DATABASE_DRIVER", ["pglite", "bun", "neon"] as const, inferred);
  if (driver !== "pglite" && !url) {
    throw new ConfigError(`DATABASE_DRIVER=${driver} needs DATABASE_URL or NEON_DATABASE_URL`);
  }
  const neonWsProxy = env.NEON_WS_PROXY?.trim() || undefined;
  const serverUrl = driver === "pglite" ? undefined : url;
  return {
    driver,
    url: serverUrl,
    migrationUrl: serverUrl && directNeonUrl(serverUrl),
    pgliteDataDir: env.PGLITE_DATA_DIR?.trim() || ".data/pglite",
    poolMax: integer(env, "DB_POOL_MAX", 10, 1, 1000),
    connectTimeoutMs: integer(env, "DB_CONNECT_TIMEOUT_MS", 2000, 100, 120_000),
    queryTimeoutMs: integer(env, "DB_QUERY_TIMEOUT_MS", 5000, 100, 600_000),
    neonWsProxy,
  };
}

const AUTH_VARIABLES = ["AUTH_JWKS_URL", "AUTH_JWT_SECRET", "AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_MAX_TOKEN_LIFETIME_S"];

function readAuth(env: Env): AuthConfig {
  // Fail closed: a misspelt or half-done auth setting must not leave the service trusting X-User-Id.
  for (const name of Object.keys(env)) {
    if (name.startsWith("AUTH_") && !AUTH_VARIABLES.includes(name) && env[name]?.trim()) {
      throw new ConfigError(`${name} is not a known setting; did you mean one of ${AUTH_VARIABLES.join(", ")}?`);
    }
  }
  const jwksUrl = env.AUTH_JWKS_URL?.trim();
  const secret = env.AUTH_JWT_SECRET?.trim();
  const issuer = env.AUTH_ISSUER?.trim() || undefined;
  const audience = env.AUTH_AUDIENCE?.trim() || undefined;
  // A token that lives for years is a password that cannot be changed.
  const maxLifetimeS = integer(env, "AUTH_MAX_TOKEN_LIFETIME_S", 24 * 3600, 60, 365 * 24 * 3600);
  if (jwksUrl && secret) throw new ConfigError("set AUTH_JWKS_URL or AUTH_JWT_SECRET, not both");
  if (!jwksUrl && !secret && (issuer || audience)) {
    throw new ConfigError("AUTH_ISSUER and AUTH_AUDIENCE need AUTH_JWKS_URL (or AUTH_JWT_SECRET) to verify tokens with");
  }
  if (jwksUrl) {
    const url = URL.canParse(jwksUrl) ? new URL(jwksUrl) : undefined;
    // Keys fetched over plain http could be swapped in transit; only a local auth server may use it.
    const local = url && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
    if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && local))) {
      throw new ConfigError(`AUTH_JWKS_URL must be an https URL (http only for localhost), got "${jwksUrl}"`);
    }
    if (!issuer) throw new ConfigError("AUTH_ISSUER is required with AUTH_JWKS_URL: tokens from any other issuer must be refused");
    return { mode: "jwks", jwksUrl: new URL(jwksUrl), issuer, audience, maxLifetimeS };
  }
  if (secret) {
    // HS256 with a short secret can be brute-forced offline from any token.
    if (Buffer.byteLength(secret) < 32) throw new ConfigError("AUTH_JWT_SECRET must be at least 32 bytes");
    return { mode: "secret", secret: new TextEncoder().encode(secret), issuer, audience, maxLifetimeS };
  }
  return { mode: "header" };
}

function readOrigins(env: Env): string[] {
  const origins = (env.CORS_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      throw new ConfigError(`CORS_ORIGINS must list origins such as https://app.example.com, got "${origin}"`);
    }
  }
  return origins;
}

// The standard OpenTelemetry variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the URL itself, the
// general OTEL_EXPORTER_OTLP_ENDPOINT a base that gets /v1/traces (the OTLP exporter specification).
function readTracing(env: Env): TracingConfig | undefined {
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!tracesEndpoint && !endpoint) return undefined;
  const name = tracesEndpoint ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  const raw = (tracesEndpoint || endpoint) as string;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new ConfigError(`${name} must be an http or https URL, such as http://collector:4318, got "${raw}"`);
  }
  // The exporter in use speaks OTLP/HTTP with JSON bodies; a collector's OTLP/HTTP receiver takes both encodings.
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol && protocol !== "http/json") {
    throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/json (the protocol this service sends), got "${protocol}"`);
  }
  const tracesUrl = tracesEndpoint ? url.href : `${url.href.replace(/\/+$/, "")}/v1/traces`;
  return { tracesUrl, serviceName: env.OTEL_SERVICE_NAME?.trim() || "todo-api" };
}

export function readConfig(env: Env = process.env): Config {
  const database = readDatabase(env);
  const reusePort = oneOf(env, "REUSE_PORT", ["true", "false"] as const, "false") === "true";
  if (reusePort && database.driver === "pglite") {
    throw new ConfigError("REUSE_PORT=true needs a database server: the embedded database belongs to one process");
  }
  return {
    port: integer(env, "PORT", 3000, 0, 65535),
    // Loopback unless told: in header mode the service trusts X-User-Id from whoever can reach it.
    host: env.HOST?.trim() || "127.0.0.1",
    reusePort,
    bodyLimitBytes: integer(env, "BODY_LIMIT_BYTES", 64 * 1024, 1024, 64 * 1024 * 1024),
    bodyTimeoutMs: integer(env, "BODY_TIMEOUT_MS", 10_000, 100, 600_000),
    maxTodosPerUser: integer(env, "MAX_TODOS_PER_USER", 10_000, 1, 100_000_000),
    logLevel: oneOf(env, "LOG_LEVEL", logLevels, "info"),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    corsOrigins: readOrigins(env),
    auth: readAuth(env),
    database,
    metrics: oneOf(env, "METRICS", ["on", "off"] as const, "on") === "on",
    tracing: readTracing(env),
    sync: {
      retentionS: duration(env, "SYNC_RETENTION", 30 * 86_400, 1, 3650 * 86_400),
      heartbeatS: integer(env, "SSE_HEARTBEAT_S", 15, 1, 3600),
      maxStreamsPerUser: integer(env, "MAX_STREAMS_PER_USER", 10, 1, 10_000),
      maxStreams: integer(env, "MAX_STREAMS", 10_000, 1, 1_000_000),
    },
  };
}
