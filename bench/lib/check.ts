// Before any load: the service and the floor must give the same answers, and leave the same rows, or the
// comparison is void.
import { SQL } from "bun";

export type Probe = {
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  /** Where the floor is asked instead, when one answer changes what the next would be (a delete). */
  floorPath?: string;
  userId: string;
  /** The floor's caller instead, with floorPath. */
  floorUserId?: string;
  body?: string;
  status: number;
  /** For a list: the number of items the fixtures hold. */
  count?: number;
};

type Answer = { status: number; body: unknown };

async function ask(baseUrl: string, method: Probe["method"], path: string, userId: string, body?: string): Promise<Answer> {
  const headers: Record<string, string> = { "x-user-id": userId };
  if (body) headers["content-type"] = "application/json";
  const response = await fetch(baseUrl + path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** Created rows differ in id and time, so a create is compared by its keys only; an update by all but the
 * instant it was made (updated_at); errors by status only (the floor's problem bodies are deliberately plain). */
function comparable(probe: Probe, body: unknown): unknown {
  if (probe.status >= 400) return undefined;
  if (typeof body !== "object" || body === null) return body;
  if (probe.method === "POST") return Object.keys(body).sort();
  if (probe.method === "PATCH") return { ...body, updated_at: typeof (body as { updated_at?: unknown }).updated_at };
  return body;
}

export async function checkSameAnswers(serviceUrl: string, floorUrl: string, probes: Probe[]): Promise<void> {
  for (const probe of probes) {
    const service = await ask(serviceUrl, probe.method, probe.path, probe.userId, probe.body);
    const floor = await ask(floorUrl, probe.method, probe.floorPath ?? probe.path, probe.floorUserId ?? probe.userId, probe.body);
    const problem =
      service.status !== probe.status
        ? `the service answered ${service.status}`
        : floor.status !== probe.status
          ? `the floor answered ${floor.status}`
          : !Bun.deepEquals(comparable(probe, service.body), comparable(probe, floor.body))
            ? "the service and the floor answered different bodies"
            : probe.count !== undefined && (service.body as { count?: unknown }).count !== probe.count
              ? `the list does not hold ${probe.count} items`
              : undefined;
    if (problem) {
      throw new Error(`${probe.name}: expected ${probe.status}, but ${problem}:\n${JSON.stringify({ service, floor }).slice(0, 2000)}`);
    }
  }
}

/** The statuses alone, on one process (the baseline of BENCH_BASELINE, whose database has todos of its own). */
export async function checkStatuses(baseUrl: string, probes: Probe[]): Promise<void> {
  for (const probe of probes) {
    const { status } = await ask(baseUrl, probe.method, probe.path, probe.userId, probe.body);
    if (status !== probe.status) throw new Error(`${probe.name}: expected ${probe.status}, the baseline answered ${status}`);
  }
}

/**
 * The same changes through each side, each for a new user of its own (two creates, an update, a delete of the
 * first todo), must leave the same rows: the users row's count and position, each todo's position, the
 * tombstone. So the floor is known to do the database work the service does, not only to answer alike.
 */
export async function checkSameWrites(serviceUrl: string, floorUrl: string, databaseUrl: string): Promise<void> {
  const sql = new SQL({ url: databaseUrl, max: 1 });
  try {
    const rowsLeftBy = async (baseUrl: string) => {
      const userId = crypto.randomUUID();
      const create = (title: string) => ask(baseUrl, "POST", "/api/v1/todos", userId, JSON.stringify({ title }));
      const first = (await create("First")).body as { id: string };
      await create("Second");
      await ask(baseUrl, "PATCH", `/api/v1/todos/${first.id}`, userId, '{"is_completed":true}');
      await ask(baseUrl, "DELETE", `/api/v1/todos/${first.id}`, userId);
      const [user] =
        await sql`select change_position::int, todo_count, tombstone_count, forgotten_through::int from users where id = ${userId}`;
      const todos = await sql`select title, change_position::int, version from todos where user_id = ${userId} order by change_position`;
      const tombstones = await sql`select change_position::int from todo_tombstones where user_id = ${userId} and todo_id = ${first.id}`;
      return { user, todos: [...todos], tombstones: [...tombstones] };
    };
    const service = await rowsLeftBy(serviceUrl);
    const floor = await rowsLeftBy(floorUrl);
    if (!Bun.deepEquals(service, floor) || service.tombstones.length !== 1) {
      throw new Error(`the service and the floor left different rows:\n${JSON.stringify({ service, floor })}`);
    }
  } finally {
    await sql.close();
  }
}
