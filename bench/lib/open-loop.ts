// Open-loop load at a fixed rate, corrected for coordinated omission (what wrk2's -R does). Request
// i is due at start + i / rate whatever happened to the ones before it, and its latency counts from
// when it was due, not from when it was sent. A closed-loop tool such as wrk stops sending while
// the server stalls, so the requests that would have queued behind the stall are never measured;
// counting from the due time puts that wait back, as a real user's clock would.
//
// Requests go over a fixed set of keep-alive connections, like wrk's: a due request takes an idle
// connection or waits in line for one, and the wait is part of its latency. Raw sockets rather
// than fetch(): on 2 shared cores, fetch's per-request cost saturated the machine at rates the
// server alone handled easily, so the numbers measured the generator.
import type { Socket } from "bun";
import type { Load } from "./wrk";

export type OpenLoopResult = {
  rate: number;
  measured: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Non-2xx answers, dropped connections, and requests unanswered 5 s after the last was due. */
  errors: number;
  /** How late the generator's own timer ran, p99: already inside the latencies; if large, they are the generator's. */
  schedulerLagP99Ms: number;
};

type Exchange = { index: number; due: number; measured: boolean };

type Connection = {
  socket: Socket;
  closed: boolean;
  current?: Exchange;
  /** Bytes of the current answer until its header is complete. */
  head: Buffer;
  /** Total bytes of the current answer once its header is known, else -1. */
  expected: number;
  received: number;
  status: number;
};

type Events = { answered(connection: Connection): void; closed(connection: Connection): void };

const GRACE_MS = 5000;

export async function runOpenLoop(
  load: Load,
  rate: number,
  warmupS: number,
  durationS: number,
  connectionCount: number,
): Promise<OpenLoopResult> {
  const requests = load.paths.map((path) => formatRequest(load, path));
  const url = new URL(load.baseUrl);
  const total = Math.round(rate * (warmupS + durationS));
  const firstMeasured = Math.round(rate * warmupS);
  const latencies: number[] = [];
  const schedulerLags: number[] = [];
  let errors = 0;
  let settled = 0;
  let stopping = false;
  const waiting: Exchange[] = [];
  let nextWaiting = 0;
  // First in, first out, so every connection is used often and none sits idle long enough to be closed.
  const idle: Connection[] = [];
  const all = new Set<Connection>();

  const send = (connection: Connection, exchange: Exchange) => {
    Object.assign(connection, { current: exchange, head: Buffer.alloc(0), expected: -1, received: 0, status: 0 });
    const request = requests[exchange.index % requests.length] as Buffer;
    // A request is a few hundred bytes on an idle keep-alive connection: the kernel takes it whole.
    if (connection.socket.write(request) < request.length) connection.socket.terminate();
  };
  const release = (connection: Connection) => {
    if (connection.closed) return;
    const next = waiting[nextWaiting];
    if (next) {
      nextWaiting++;
      send(connection, next);
    } else idle.push(connection);
  };
  const settle = (connection: Connection, ok: boolean) => {
    const exchange = connection.current;
    if (!exchange) return;
    connection.current = undefined;
    settled++;
    if (!exchange.measured) return;
    if (ok && connection.status >= 200 && connection.status < 300) latencies.push(performance.now() - exchange.due);
    else errors++;
  };
  const events: Events = {
    answered(connection) {
      settle(connection, true);
      release(connection);
    },
    closed(connection) {
      if (connection.closed) return; // both error and close may report it
      connection.closed = true;
      all.delete(connection);
      const at = idle.indexOf(connection);
      if (at >= 0) idle.splice(at, 1);
      settle(connection, false);
      // A replacement; if the server is gone, the requests left unanswered are counted as errors.
      if (!stopping) open().catch(() => undefined);
    },
  };
  const open = async () => {
    const connection = await connect(url, events);
    all.add(connection);
    release(connection);
  };

  await Promise.all(Array.from({ length: connectionCount }, open));
  const start = performance.now();
  for (let index = 0; index < total; index++) {
    const due = start + (index * 1000) / rate;
    const wait = due - performance.now();
    // Timers fire at millisecond granularity: at high rates several requests fall due per wake-up and go out together.
    if (wait > 0) await Bun.sleep(wait);
    const measured = index >= firstMeasured;
    if (measured) schedulerLags.push(performance.now() - due);
    const connection = idle.shift();
    if (connection) send(connection, { index, due, measured });
    else waiting.push({ index, due, measured });
  }
  const giveUpAt = performance.now() + GRACE_MS;
  while (settled < total && performance.now() < giveUpAt) await Bun.sleep(10);
  stopping = true;
  for (const connection of all) connection.socket.end();

  // Unanswered requests are failures, never silently dropped. (Warm-up ones are too: rare, and loud is better.)
  errors += total - settled;
  latencies.sort((a, b) => a - b);
  schedulerLags.sort((a, b) => a - b);
  return {
    rate,
    measured: total - firstMeasured,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    maxMs: latencies.at(-1) ?? Number.NaN,
    errors,
    schedulerLagP99Ms: percentile(schedulerLags, 99),
  };
}

function formatRequest(load: Load, path: string): Buffer {
  const headers = [`${load.method} ${path} HTTP/1.1`, `Host: ${new URL(load.baseUrl).host}`, `X-User-Id: ${load.userId}`];
  if (load.body) headers.push("Content-Type: application/json", `Content-Length: ${Buffer.byteLength(load.body)}`);
  return Buffer.from(`${headers.join("\r\n")}\r\n\r\n${load.body ?? ""}`);
}

/** One keep-alive connection, reporting each complete answer and its closing. */
async function connect(url: URL, events: Events): Promise<Connection> {
  const connection = { closed: false, head: Buffer.alloc(0), expected: -1, received: 0, status: 0 } as Connection;
  connection.socket = await Bun.connect({
    hostname: url.hostname,
    port: Number(url.port),
    socket: {
      data(_socket, chunk) {
        if (!connection.current) return;
        connection.received += chunk.length;
        if (connection.expected < 0) readHead(connection, chunk);
        if (connection.expected >= 0 && connection.received >= connection.expected) events.answered(connection);
      },
      close: () => events.closed(connection),
      error: () => events.closed(connection),
    },
  });
  return connection;
}

/** Status and Content-Length from the header; both services always send a Content-Length. */
function readHead(connection: Connection, chunk: Buffer) {
  connection.head = connection.head.length === 0 ? chunk : Buffer.concat([connection.head, chunk]);
  const end = connection.head.indexOf("\r\n\r\n");
  if (end < 0) return;
  const head = connection.head.toString("latin1", 0, end);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  connection.status = Number(head.slice(9, 12));
  connection.expected = length === undefined ? Number.POSITIVE_INFINITY : end + 4 + Number(length);
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
