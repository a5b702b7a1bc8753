// The bench's own database on the server, created fresh and dropped at the end, and its fixtures.
import { SQL } from "bun";
import { encodeCursor, filtersDigest } from "../../src/todos/cursor";

export type BenchDatabase = { name: string; url: string; drop(): Promise<void> };

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = new SQL({ url: adminUrl, max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}

export async function postgresVersion(adminUrl: string): Promise<string> {
  const admin = new SQL({ url: adminUrl, max: 1 });
  try {
    const [row] = await admin`show server_version`;
    return String(row?.server_version ?? "unknown");
  } finally {
    await admin.close();
  }
}

export type Fixtures = {
  /** Owns exactly 50 todos. */
  user50: string;
  /** Owns exactly 1000 todos. */
  user1000: string;
  /** Owns one todo, the one retrieved. */
  singleUser: string;
  singleTodoId: string;
  /** Owns 1000 todos, updated in turn: 32 writers on one row would measure Postgres's row lock, not the service. */
  updateUser: string;
  updateTodoIds: string[];
  /** Owns 100,000 todos (seeded past MAX_TODOS_PER_USER): the first page and one past the 50,000th must cost the same. */
  user100k: string;
  /** The cursor after the 50,000th newest todo of user100k. */
  deepCursor: string;
  /**
   * Each target creates todos for users of its own, so the list users above never change: many of
   * them in turn, as real traffic is, so that no one reaches the per-user limit (MAX_TODOS_PER_USER).
   */
  creators: { service: string[]; floor: string[] };
  /**
   * The keyed create's own creators, fresh as the plain create's were: a create counts its user's todos
   * against the limit, so on the plain create's users it would be measured on todos that case made.
   */
  keyedCreators: { service: string[]; floor: string[] };
};

/** Seeds with SQL: exact counts, fast, and distinct creation times so "newest first" has one answer. */
export async function seed(url: string): Promise<Fixtures> {
  const sql = new SQL({ url, max: 1 });
  try {
    const fixtures = {
      user50: crypto.randomUUID(),
      user1000: crypto.randomUUID(),
      user100k: crypto.randomUUID(),
      singleUser: crypto.randomUUID(),
      updateUser: crypto.randomUUID(),
      creators: { service: manyUsers(), floor: manyUsers() },
      keyedCreators: { service: manyUsers(), floor: manyUsers() },
    };
    const { user50, user1000, user100k, singleUser, updateUser, creators, keyedCreators } = fixtures;
    const userIds = [
      ...[user50, user1000, user100k, singleUser, updateUser],
      ...[creators.service, creators.floor, keyedCreators.service, keyedCreators.floor].flat(),
    ];
    await sql`insert into users ${sql(userIds.map((id) => ({ id })))}`;
    await insertTodos(sql, user50, 50);
    await insertTodos(sql, user1000, 1000);
    const [single] = await insertTodos(sql, singleUser, 1);
    const updated = await insertTodos(sql, updateUser, 1000);
    await insertTodos(sql, user100k, 100_000);
    const [deep] = await sql`
      select id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at from todos
      where user_id = ${user100k} order by created_at desc, id desc offset 49999 limit 1`;
    // vacuum too: else autovacuum takes up the 100,000 fresh rows in the middle of the first cases.
    await sql`vacuum analyze`;
    return {
      ...fixtures,
      singleTodoId: String(single?.id),
      updateTodoIds: updated.map((row) => String(row.id)),
      deepCursor: encodeCursor({
        sort: "created_at",
        order: "desc",
        filters: filtersDigest({}),
        position: { id: String(deep?.id), at: String(deep?.created_at) },
      }),
    };
  } finally {
    await sql.close();
  }
}

const manyUsers = () => Array.from({ length: 1000 }, () => crypto.randomUUID());

async function insertTodos(sql: SQL, userId: string, count: number): Promise<{ id: string }[]> {
  return sql`
    insert into todos (user_id, title, description, created_at)
    select ${userId}, 'Todo number ' || i, case when i % 2 = 0 then 'A description of todo ' || i end, now() - make_interval(secs => i)
    from generate_series(1, ${count}::int) as i
    returning id`;
}
