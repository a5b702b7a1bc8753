// `bun run bench:streams`: the live stream across instances. Two service processes on one Postgres database;
// streams open on each; writes through one instance at a fixed rate; for each write, the time from its 2xx to the
// event on a stream of the *other* instance. Then the memory an idle stream costs: many streams opened on one
// instance, its resident memory before and after. Prints a Markdown report (and writes bench/streams-results.md).
//
// BENCH_DATABASE_URL (the server; a database is made and dropped), STREAMS (1000), STREAM_USERS (100: streams are
// spread over them, STREAMS / STREAM_USERS each), WRITES_PER_S (200), WRITE_SECONDS (20), IDLE_STREAMS (10000).
import { SQL } from "bun";
import { launch, logDir, waitForOk } from "./lib/processes";

const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const STREAMS = int("STREAMS", 1000);
const USERS = int("STREAM_USERS", 100);
const RATE = int("WRITES_PER_S", 200);
const SECONDS = int("WRITE_SECONDS", 20);
const IDLE = int("IDLE_STREAMS", 10_000);

const admin = new SQL({ url: adminUrl, max: 1 });
const name = `bench_streams_${crypto.randomUUID().slice(0, 8)}`;
await admin.unsafe(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const env = {
  DATABASE_URL: url.href,
  DATABASE_DRIVER: "bun",
  LOG_LEVEL: "warn",
  MAX_STREAMS: String(Math.max(STREAMS, IDLE) + 10),
  MAX_STREAMS_PER_USER: String(Math.ceil(Math.max(STREAMS, IDLE) / USERS) + 1),
  METRICS: "off",
};
const instances = [launch("src/index.ts", env, "streams-a"), launch("src/index.ts", env, "streams-b")];
const report: string[] = [];

type Stream = { user: string; instance: number; close(): void };
/** Opens a stream; `onEvent` gets each change's todo title and the time it arrived. */
async function open(user: string, instance: number, onEvent: (title: string, at: number) => void): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(`${instances[instance]?.baseUrl}/api/v1/todos/events`, {
    headers: { "x-user-id": user },
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`a stream answered ${response.status}: ${await response.text()}`);
  if (!response.body) throw new Error("a stream answered without a body");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      const at = performance.now();
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        if (data) onEvent(JSON.parse(data).todo?.title ?? "", at);
      }
    }
  })();
  return { user, instance, close: () => controller.abort() };
}

const rssOf = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await Bun.file(`/proc/${pid}/status`).text())?.[1]) * 1024;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

try {
  await Promise.all(instances.map((instance) => waitForOk(instance, "/ready")));
  const users = Array.from({ length: USERS }, () => crypto.randomUUID());

  // Latency: streams on both instances; each write goes through the instance its user's streams are not on.
  const arrivals = new Map<string, number>();
  const streams: Stream[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const user = users[i % USERS] as string;
    const instance = Math.floor(i / USERS) % 2 === 0 ? 1 : 0;
    streams.push(await open(user, instance, (title, at) => arrivals.has(title) || arrivals.set(title, at)));
  }
  const writes: { title: string; answeredAt: number }[] = [];
  const total = RATE * SECONDS;
  const startedAt = performance.now();
  const pending: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = startedAt + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    const user = users[n % USERS] as string;
    // The user's first streams are on instance 1: write through instance 0.
    const title = `write ${n}`;
    pending.push(
      fetch(`${instances[0]?.baseUrl}/api/v1/todos`, {
        method: "POST",
        headers: { "x-user-id": user, "content-type": "application/json" },
        body: JSON.stringify({ title }),
      }).then(async (response) => {
        await response.arrayBuffer();
        if (response.status === 201) writes.push({ title, answeredAt: performance.now() });
      }),
    );
  }
  await Promise.all(pending);
  await Bun.sleep(2000);
  const latencies = writes
    .map(({ title, answeredAt }) => (arrivals.get(title) ?? Number.POSITIVE_INFINITY) - answeredAt)
    .sort((a, b) => a - b);
  const missing = latencies.filter((ms) => ms === Number.POSITIVE_INFINITY).length;
  report.push(
    "## Live stream latency across instances",
    "",
    `${STREAMS} streams (${USERS} users) over 2 instances; ${total} creates at ${RATE}/s through one instance; each measured from its 2xx`,
    "to its event on a stream of the other instance (the first of the user's streams there to receive it).",
    "",
    "| writes answered | events missing | p50 | p99 | max |",
    "|--:|--:|--:|--:|--:|",
    `| ${writes.length} | ${missing} | ${quantile(latencies, 0.5).toFixed(1)} ms | ${quantile(latencies, 0.99).toFixed(1)} ms | ${(latencies.at(-1) ?? Number.NaN).toFixed(1)} ms |`,
    "",
  );
  for (const stream of streams) stream.close();
  await Bun.sleep(1000);

  // Memory: idle streams on one instance.
  const pid = instances[1]?.proc.pid as number;
  const before = await rssOf(pid);
  const idle: Stream[] = [];
  for (let i = 0; i < IDLE; i++) idle.push(await open(users[i % USERS] as string, 1, () => {}));
  await Bun.sleep(2000);
  const after = await rssOf(pid);
  report.push(
    "## Memory per idle stream",
    "",
    `${IDLE} idle streams on one instance: resident memory ${(before / 2 ** 20).toFixed(0)} MB before, ${(after / 2 ** 20).toFixed(0)} MB with them open:`,
    `**${((after - before) / IDLE / 1024).toFixed(1)} KB per stream** (the service's side: its socket, stream, and place in the user's set).`,
    "",
  );
  for (const stream of idle) stream.close();
} finally {
  await Promise.all(instances.map((instance) => instance.stop()));
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.close();
}

const markdown = [`# Live streams (${new Date().toISOString()})`, "", ...report].join("\n");
console.log(markdown);
console.error(`service logs: ${logDir}`);
await Bun.write(new URL("./streams-results.md", import.meta.url), `${markdown}\n`);
