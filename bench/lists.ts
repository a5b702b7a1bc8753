// `bun run bench:lists`: issue 29's figures. For a user with 10,000 todos, the service against a floor sending the
// same statements (bench/lists-floor.ts): the first page and a page past the 5,000th of each order, a search
// matching few todos and one matching many, a filtered total, and a bulk complete of 1,000 todos. Both processes
// run on one fresh database, are checked to answer the same bodies, then each case runs closed-loop (wrk) on one
// and the other back to back, BENCH_ROUNDS rounds alternating who goes first. Prints a Markdown report and writes
// bench/lists-results.md.
//
// BENCH_DATABASE_URL (the server; a database is made and dropped), BENCH_ROUNDS (3), BENCH_DURATION (5 s measured),
// BENCH_WARMUP (2 s before each measurement, not counted), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
// BENCH_POOL_MAX (10), BENCH_CASES (comma-separated parts of case names: only those run), BENCH_LOG_STATEMENTS (1:
// Postgres logs every statement of the bench's database, to compare what the two sides send).
import { loadavg } from "node:os";
import { SQL } from "bun";
import { launch, logDir, waitForOk } from "./lib/processes";

const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROUNDS = int("BENCH_ROUNDS", 3);
const DURATION_S = int("BENCH_DURATION", 5);
const WARMUP_S = int("BENCH_WARMUP", 2);
const CONNECTIONS = int("BENCH_CONNECTIONS", 32);
const THREADS = int("BENCH_THREADS", 2);
const POOL_MAX = String(int("BENCH_POOL_MAX", 10));
const ONLY = process.env.BENCH_CASES?.split(",").map((part) => part.trim().toLowerCase());

const TODOS = 10_000;
const DEEP = 5_000;
// The seed's words: a rare one in 1% of titles, a common one in a third of descriptions.
const RARE = "invoice";
const COMMON = "report";

const admin = new SQL({ url: adminUrl, max: 1 });
const name = `bench_lists_${crypto.randomUUID().slice(0, 8)}`;
const url = new URL(adminUrl);
url.pathname = `/${name}`;

/**
 * One user with 10,000 todos, as the service would have left them (migration 0007: each todo at a change position,
 * 1, 2, ... in the order they last changed; the users row holding the count and the last position). Distinct
 * creation times; updated_at in another order; titles of mixed case; exactly 1,000 High (the bulk case's filter),
 * 5,000 Medium and 4,000 Low; about 43% completed. Other users' todos around them, so that every statement must
 * find the user's rows among others'.
 */
async function seed(db: SQL, userId: string) {
  const others = Array.from({ length: 20 }, () => crypto.randomUUID());
  await db`insert into users (id) select unnest(${`{${[userId, ...others].join(",")}}`}::uuid[])`;
  const todosOf = (user: string, count: number) => db`
    insert into todos (user_id, title, description, is_completed, priority, created_at, updated_at, version, change_position)
    select ${user}::uuid,
      (array['Buy','call','Email','plan','Fix','write','Review','book','Pay','clean','Ship','read','Draft'])[i % 13 + 1] || ' ' ||
        (array['milk','the dentist','Budget','garden','car','slides','Notes','flights','rent','kitchen','order','paper'])[(i * 7) % 12 + 1] ||
        case when i % 100 = 7 then ' Invoice' else '' end || ' #' || i,
      case when i % 5 = 0 then null when i % 3 = 0 then 'for the weekly ' || ${COMMON} || ' ' || i else 'note ' || i end,
      (i * 31) % 7 < 3,
      (case when i % 10 = 0 then 'High' when i % 2 = 1 then 'Medium' else 'Low' end)::todo_priority,
      timestamptz '2026-01-01 00:00:00+00' + i * interval '37 seconds',
      timestamptz '2026-01-01 00:00:00+00' + i * interval '37 seconds' + ((i * 7919) % 100000) * interval '1 second',
      1, 0
    from generate_series(0, ${count - 1}) as i`;
  await todosOf(userId, TODOS);
  for (const other of others) await todosOf(other, 2_000);
  await db`update todos set change_position = numbered.position
    from (select user_id, id, row_number() over (partition by user_id order by updated_at, id) as position from todos) as numbered
    where todos.user_id = numbered.user_id and todos.id = numbered.id`;
  await db`update users set todo_count = counted.todos, change_position = counted.todos
    from (select user_id, count(*)::int as todos from todos group by user_id) as counted where users.id = counted.user_id`;
  await db.unsafe("vacuum analyze");
}

type Case = { name: string; path: string; method: "GET" | "PATCH"; bodies?: string[]; connections?: number; note: string };

/** The cursor after the user's `deep`-th todo in this order, read from the service's own pages. */
async function cursorAfter(baseUrl: string, userId: string, query: string, deep: number): Promise<string> {
  let cursor: string | null = null;
  for (let seen = 0; seen < deep; seen += 200) {
    const response = await fetch(`${baseUrl}/api/v1/todos?${query}&limit=200${cursor ? `&cursor=${cursor}` : ""}`, {
      headers: { "x-user-id": userId },
    });
    const page = (await response.json()) as { next_cursor: string | null };
    cursor = page.next_cursor;
    if (!cursor) throw new Error(`${query}: no page after ${seen + 200} todos`);
  }
  return cursor as string;
}

async function defineCases(baseUrl: string, userId: string): Promise<Case[]> {
  const cases: Case[] = [];
  for (const sort of ["created_at", "updated_at", "title", "priority"]) {
    const query = `sort=${sort}`;
    cases.push({ name: `${sort}, first page`, path: `/api/v1/todos?${query}`, method: "GET", note: "limit 50 (the default)" });
    const cursor = await cursorAfter(baseUrl, userId, query, DEEP);
    cases.push({
      name: `${sort}, page past the ${DEEP.toLocaleString("en")}th`,
      path: `/api/v1/todos?${query}&cursor=${cursor}`,
      method: "GET",
      note: `limit 50, the cursor after the ${DEEP.toLocaleString("en")}th todo (walked with limit=200)`,
    });
  }
  cases.push(
    {
      name: "search, few matches",
      path: `/api/v1/todos?q=${RARE.toUpperCase()}`,
      method: "GET",
      note: `q=${RARE.toUpperCase()}: 100 todos (1%)`,
    },
    { name: "search, many matches", path: `/api/v1/todos?q=${COMMON}`, method: "GET", note: `q=${COMMON}: 2,667 todos` },
    {
      name: "filtered total",
      path: "/api/v1/todos?completed=true&priority=High",
      method: "GET",
      note: "completed=true&priority=High, a page of 50 and the total",
    },
    {
      name: "bulk complete of 1,000",
      path: "/api/v1/todos?priority=High",
      method: "PATCH",
      // Every request changes the same 1,000 todos (all the High ones, whatever their completion): each gets a new
      // version, updated_at and change position. The bodies alternate, so the todos are completed, then reopened.
      bodies: ['{"is_completed":true}', '{"is_completed":false}'],
      // Every request locks the user's row first (as every change does): the requests run one at a time whatever
      // the connections. 32 would only make a longer queue (at about 8 changes a second, 4 s of waiting, near the
      // service's 5 s database deadline on a loaded machine); with 4 the database is never idle between two.
      connections: 4,
      note: 'PATCH ?priority=High (1,000 todos), bodies {"is_completed":true} and {"is_completed":false} in turn: each request rewrites 1,000 todos; 4 connections, as the user\'s row lock runs them one at a time',
    },
  );
  return cases.filter((one) => !ONLY || ONLY.some((part) => one.name.toLowerCase().includes(part)));
}

/** Both sides answer each case with the same status and the same bytes (the bulk case: once each, {"count":1000}). */
async function checkSame(cases: Case[], targets: Record<"service" | "floor", string>, userId: string) {
  for (const one of cases) {
    const answers = await Promise.all(
      Object.values(targets).map(async (baseUrl) => {
        const response = await fetch(baseUrl + one.path, {
          method: one.method,
          headers: { "x-user-id": userId, "content-type": "application/json" },
          body: one.bodies?.[0],
        });
        return { status: response.status, body: await response.text() };
      }),
    );
    const [service, floor] = answers as [{ status: number; body: string }, { status: number; body: string }];
    if (service.status !== 200 || service.status !== floor.status || service.body !== floor.body)
      throw new Error(
        `${one.name}: the service answered ${service.status} ${service.body.slice(0, 300)}, the floor ${floor.status} ${floor.body.slice(0, 300)}`,
      );
    if (one.method === "PATCH" && service.body !== '{"count":1000}') throw new Error(`${one.name}: changed ${service.body}, not 1,000`);
  }
}

// A wrk script of this bench's own (bench/wrk.lua belongs to bench/run.ts): one static request, or several bodies
// taken in turn by each thread; the same one-line summary.
const WRK_SCRIPT = `
wrk.method = os.getenv("LISTS_METHOD")
wrk.headers["X-User-Id"] = os.getenv("LISTS_USER_ID")
local bodies = {}
for body in (os.getenv("LISTS_BODIES") or ""):gmatch("[^\\n]+") do bodies[#bodies + 1] = body end
if #bodies > 0 then
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = bodies[1]
end
if #bodies > 1 then
  function init(args)
    prepared = {}
    for i, body in ipairs(bodies) do prepared[i] = wrk.format(nil, nil, nil, body) end
    sent = 0
  end
  function request()
    sent = sent % #prepared + 1
    return prepared[sent]
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"http_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
`;
const wrkScript = `${logDir}/lists.lua`;

/**
 * Waits until the database has finished what the previous run left in flight (wrk stops; the statements it
 * started do not), so that no run pays for the one before it. The bulk case's queued changes take seconds.
 */
async function quiet() {
  for (let waited = 0; waited < 30_000; waited += 50) {
    const [{ active }] = await admin`select count(*)::int as active from pg_stat_activity
      where datname = ${name} and state <> 'idle' and pid <> pg_backend_pid() and backend_type = 'client backend'`;
    if (active === 0) return;
    await Bun.sleep(50);
  }
  throw new Error("the database was still busy 30 s after a run");
}

type Run = { rps: number; requests: number; errors: number; p50Ms: number; p99Ms: number };

async function runWrk(baseUrl: string, one: Case, userId: string, durationS: number): Promise<Run> {
  await quiet();
  const args = ["-t", `${THREADS}`, "-c", `${one.connections ?? CONNECTIONS}`, "-d", `${durationS}s`, "--timeout", "5s", "-s", wrkScript];
  const proc = Bun.spawn(["wrk", ...args, baseUrl + one.path], {
    env: { ...process.env, LISTS_METHOD: one.method, LISTS_USER_ID: userId, LISTS_BODIES: one.bodies?.join("\n") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = stdout.split("\n").find((text) => text.startsWith("BENCH_JSON "));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${stderr || stdout}`);
  const summary = JSON.parse(line.slice("BENCH_JSON ".length));
  return {
    rps: summary.requests / (summary.duration_us / 1e6),
    requests: summary.requests,
    errors: summary.socket_errors + summary.http_errors,
    p50Ms: summary.p50_us / 1000,
    p99Ms: summary.p99_us / 1000,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** A case's runs; `othersRan`: the main bench, CI or the test suite was running when the case began or ended. */
type Result = { one: Case; service: Run[]; floor: Run[]; ratios: number[]; othersRan: boolean };

await admin.unsafe(`create database ${name}`);
if (process.env.BENCH_LOG_STATEMENTS === "1") await admin.unsafe(`alter database ${name} set log_statement = 'all'`);
const service = launch(
  "src/index.ts",
  { DATABASE_URL: url.href, DATABASE_DRIVER: "bun", LOG_LEVEL: "warn", METRICS: "off", DB_POOL_MAX: POOL_MAX },
  "lists-service",
);
let floor: ReturnType<typeof launch> | undefined;
const results: Result[] = [];
const startedAt = new Date();
/** What else is running that loads the machine: the main bench, CI, the test suite. */
const othersRunning = async () => {
  const pgrep = Bun.spawn(["pgrep", "-fa", "bench/run.ts|\\.ci/run|bun test"], { stdout: "pipe" });
  const lines = (await new Response(pgrep.stdout).text()).split("\n").filter((line) => line.trim() && !line.includes("pgrep"));
  return lines.map((line) => line.replace(/^\d+ /, "")).join("; ");
};
const busy = { atStart: await othersRunning(), loadAtStart: loadavg()[0] ?? 0, atEnd: "", loadAtEnd: 0 };
try {
  await waitForOk(service, "/ready");
  const userId = crypto.randomUUID();
  const db = new SQL({ url: url.href, max: 1 });
  console.error("seeding…");
  await seed(db, userId);
  await db.close();
  floor = launch("bench/lists-floor.ts", { DATABASE_URL: url.href, DB_POOL_MAX: POOL_MAX }, "lists-floor");
  await waitForOk(floor, "/api/v1/todos", { "x-user-id": userId });
  const cases = await defineCases(service.baseUrl, userId);
  await checkSame(cases, { service: service.baseUrl, floor: floor.baseUrl }, userId);
  console.error(`both answer the same bodies in all ${cases.length} cases`);
  await Bun.write(wrkScript, WRK_SCRIPT);
  const targets = { service: service.baseUrl, floor: floor.baseUrl };
  for (const one of cases) {
    const result: Result = { one, service: [], floor: [], ratios: [], othersRan: (await othersRunning()) !== "" };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (["service", "floor"] as const) : (["floor", "service"] as const);
      const runs: Partial<Record<"service" | "floor", Run>> = {};
      for (const side of order) {
        if (WARMUP_S > 0) await runWrk(targets[side], one, userId, WARMUP_S);
        runs[side] = await runWrk(targets[side], one, userId, DURATION_S);
      }
      const { service: ours, floor: theirs } = runs as Record<"service" | "floor", Run>;
      result.service.push(ours);
      result.floor.push(theirs);
      result.ratios.push(ours.rps / theirs.rps);
      console.error(
        `${one.name}, round ${round + 1}: service ${ours.rps.toFixed(0)} req/s, floor ${theirs.rps.toFixed(0)} req/s, ratio ${(ours.rps / theirs.rps).toFixed(2)}`,
      );
    }
    result.othersRan ||= (await othersRunning()) !== "";
    results.push(result);
  }
  busy.atEnd = await othersRunning();
  busy.loadAtEnd = loadavg()[0] ?? 0;
} finally {
  await Promise.all([service.stop(), floor?.stop()]);
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.close();
}

const TARGET = 0.85;
const rows = results.map(({ one, service: ours, floor: theirs, ratios, othersRan }) => {
  const ratio = median(ratios);
  const range = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  const errors = [...ours, ...theirs].reduce((sum, run) => sum + run.errors, 0);
  const p50 = (runs: Run[]) => median(runs.map((run) => run.p50Ms)).toFixed(1);
  return `| ${one.name} | ${median(ours.map((run) => run.rps)).toFixed(0)} | ${median(theirs.map((run) => run.rps)).toFixed(0)} | **${ratio.toFixed(2)}** (${range}) | ${ratio >= TARGET ? "yes" : "**no**"} | ${p50(ours)} / ${p50(theirs)} | ${errors} | ${othersRan ? "**yes**" : "no"} |`;
});
const markdown = [
  `# Lists of a user with 10,000 todos (issue 29): service against floor (${startedAt.toISOString()})`,
  "",
  `\`bun run bench:lists\`: ${ROUNDS} round(s) per case alternating who goes first, ${DURATION_S} s measured after ${WARMUP_S} s of warm-up, ` +
    `${CONNECTIONS} connections and ${THREADS} wrk threads, pool of ${POOL_MAX}, on a machine of ${navigator.hardwareConcurrency} cores ` +
    "(wrk, both processes and Postgres share them). The floor (bench/lists-floor.ts) sends the service's statements, same text, same " +
    "parameters, with Bun.serve and Bun's SQL client; both answered every case with the same bytes before the load. req/s: each side's " +
    `median round; ratio: the median (and range) of the rounds' service / floor. Target: ≥ ${TARGET}.`,
  "",
  `Load average (1 min) ${busy.loadAtStart.toFixed(1)} at the start, ${busy.loadAtEnd.toFixed(1)} at the end. ` +
    (busy.atStart || busy.atEnd
      ? `**The machine was busy**: running at the start: ${busy.atStart || "nothing else"}; at the end: ${busy.atEnd || "nothing else"}.`
      : "Neither the main bench, CI nor the test suite was running at the start or at the end.") +
    ' "Others running": the main bench, CI or the test suite was running when the case began or ended.',
  "",
  "| case | service req/s | floor req/s | service / floor | ≥ 0.85 | p50 ms (service / floor) | errors | others running |",
  "|---|--:|--:|--:|:-:|--:|--:|:-:|",
  ...rows,
  "",
  "The requests:",
  "",
  ...results.map(
    ({ one }) => `- **${one.name}**: \`${one.method} ${one.path.length > 80 ? `${one.path.slice(0, 80)}…` : one.path}\`; ${one.note}`,
  ),
  "",
].join("\n");
console.log(markdown);
console.error(`logs: ${logDir}`);
if (!ONLY) await Bun.write(new URL("./lists-results.md", import.meta.url), `${markdown}\n`);
