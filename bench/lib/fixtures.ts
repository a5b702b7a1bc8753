// The bench's data: seeded with SQL, exactly as the service would have left it (each todo at a change
// position of its user, each users row counting its todos and holding its last position), and the write
// cases' users put back as they were before each run.
import { SQL } from "bun";

/** The todos each user of "create for users with 9000 todos" holds before each run. */
export const HEAVY_TODOS = 9000;
/**
 * The users of each of the two creates that are put back before each run (both sides create for the same
 * ones): a run of 10 s at 6,000 creates a second gives each under 1,000 todos, so none reaches the limit
 * (MAX_TODOS_PER_USER, 10,000) from 9,000.
 */
export const RESTORED_USERS = 64;
/** Users whose todos the delete case deletes, and the update case's users (one todo each). */
const SPREAD_USERS = 1000;
/**
 * The fastest delete the numbered todos are seeded for, per second: a run faster than this runs out of todos
 * to delete and is reported with errors (404s), never silently measured on missing todos.
 */
const DELETES_PER_SECOND = 12_000;

export type Fixtures = {
  /** Owns exactly 50 todos. */
  user50: string;
  /** Owns exactly 1000 todos. */
  user1000: string;
  /** Owns one todo, the one retrieved. */
  singleUser: string;
  singleTodoId: string;
  /**
   * 1000 users owning one todo each, updated in turn (the i-th todo is the i-th user's): every change
   * locks its user's row, so 32 writers on one user's todos would measure Postgres's row lock, not the service.
   */
  updateUsers: string[];
  updateTodoIds: string[];
  /** Owns 100,000 todos (seeded past MAX_TODOS_PER_USER): the first page and one past the 50,000th must cost the same. */
  user100k: string;
  /**
   * Each target creates todos for users of its own, so the list users above never change: many of
   * them in turn, as real traffic is, so that no one reaches the per-user limit (MAX_TODOS_PER_USER).
   */
  creators: { service: string[]; floor: string[] };
  /** The keyed create's own creators, fresh as the plain create's were. */
  keyedCreators: { service: string[]; floor: string[] };
  /** Users holding HEAVY_TODOS todos each before every run (restoreHeavyCreators), shared by both sides. */
  heavyCreators: string[];
  /** Users with no row and no todos before every run (restoreNewCreators), shared by both sides. */
  newCreators: string[];
  /** The delete case's users: numbered todo (thread t, n) is deleteUsers[deleteUserIndex(t, n)]'s. */
  deleteUsers: string[];
  /** Before each run of the cases that change these users: their todos (and rows) as seeded. */
  restoreHeavyCreators(): Promise<void>;
  restoreNewCreators(): Promise<void>;
  refillDeletable(): Promise<void>;
  close(): Promise<void>;
};

/**
 * The todo the n-th request (from 1) of wrk thread t deletes: bench/wrk.lua writes the same id, so no list of
 * ids goes to wrk and each request costs it two string concatenations.
 */
export const numberedTodoId = (thread: number, n: number) =>
  `${thread.toString(16).padStart(8, "0")}-0000-4000-8000-${100_000_000_000 + n}`;
/** Threads start far apart in the users (7919 is a prime), so they do not change one user's todos at once. */
export const deleteUserIndex = (thread: number, n: number, users: number) => (n - 1 + thread * 7919) % users;
const numberedTodoIdSql = (thread: string, n: string) =>
  `(lpad(to_hex(${thread}), 8, '0') || '-0000-4000-8000-' || (100000000000 + ${n})::text)::uuid`;
const deleteUserIndexSql = (thread: string, n: string, users: number) => `((${n} - 1 + ${thread} * 7919) % ${users})`;

export type SeedShape = {
  /** wrk's threads: each deletes numbered todos of its own. */
  threads: number;
  /** The longest single wrk run, warm-up or measured, in seconds. */
  longestRunS: number;
};

/**
 * Seeds with SQL: exact counts, fast, and distinct creation times so "newest first" has one answer. On a
 * database of the change feed's schema (migration 0007), each user's todos take positions 1, 2, ... oldest
 * first and the user's row counts them, as the migration's backfill does; on an older one (the baseline of
 * BENCH_BASELINE), todos are inserted as that schema has them.
 */
export async function seed(url: string, shape: SeedShape): Promise<Fixtures> {
  const sql = new SQL({ url, max: 1 });
  try {
    const [{ exists: changeFeed }] = await sql`
      select exists (select from information_schema.columns where table_name = 'todos' and column_name = 'change_position')`;
    const ids = {
      user50: crypto.randomUUID(),
      user1000: crypto.randomUUID(),
      user100k: crypto.randomUUID(),
      singleUser: crypto.randomUUID(),
      updateUsers: manyUsers(SPREAD_USERS),
      creators: { service: manyUsers(1000), floor: manyUsers(1000) },
      keyedCreators: { service: manyUsers(1000), floor: manyUsers(1000) },
      heavyCreators: manyUsers(RESTORED_USERS),
      newCreators: manyUsers(RESTORED_USERS),
      deleteUsers: manyUsers(SPREAD_USERS),
    };
    const { user50, user1000, user100k, singleUser, updateUsers, creators, keyedCreators, heavyCreators, deleteUsers } = ids;
    const userIds = [
      ...[user50, user1000, user100k, singleUser, ...updateUsers, ...heavyCreators, ...deleteUsers],
      ...[creators.service, creators.floor, keyedCreators.service, keyedCreators.floor].flat(),
    ];
    await sql`insert into users ${sql(userIds.map((id) => ({ id })))}`;
    const todos = (users: string[], perUser: number) => insertTodos(sql, changeFeed, users, perUser);
    await todos([user50], 50);
    await todos([user1000], 1000);
    const [single] = await todos([singleUser], 1);
    // One statement for all: rows come back in the order of the users.
    const updated = await todos(updateUsers, 1);
    await todos([user100k], 100_000);
    await todos(heavyCreators, HEAVY_TODOS);
    const deletablePerThread = Math.ceil(shape.longestRunS * (DELETES_PER_SECOND / shape.threads));
    const [{ now: seededAt }] = await sql`select now()`;
    const restore = restorer(sql, changeFeed, { ...ids, threads: shape.threads, deletablePerThread, seededAt });
    await restore.refillDeletable();
    // Idempotency-Keys as a service in use holds them (20 for each of the update case's users), so that the keys'
    // table has statistics: a statement prepared while a table looks empty keeps a plan that scans it, and, with
    // autovacuum off (as here), no ANALYZE ever comes to replace it (docs/operations.md).
    await sql`
      insert into idempotency_keys (user_id, key, request_hash, todo_id, created_at)
      select user_id, 'seeded-' || n, repeat('0', 64), gen_random_uuid(), now() - make_interval(mins => n)
      from unnest(${uuidArray(updateUsers)}::uuid[]) as user_id, generate_series(1, 20) as n`;
    // vacuum too: else autovacuum takes up the fresh rows in the middle of the first cases.
    await sql`vacuum analyze`;
    return {
      ...ids,
      singleTodoId: String(single?.id),
      updateTodoIds: updated.map((row) => String(row.id)),
      ...restore,
      close: () => sql.close(),
    };
  } catch (error) {
    await sql.close();
    throw error;
  }
}

/**
 * The cursor after the user's `after`-th newest todo, as the service at `baseUrl` writes it: read through its
 * pages rather than encoded here, so it is right for whichever service (a baseline's cursors may differ).
 */
export async function cursorAfter(baseUrl: string, userId: string, after: number): Promise<string> {
  let cursor: string | null = null;
  for (let read = 0; read < after; read += 200) {
    const query = `limit=${Math.min(200, after - read)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await fetch(`${baseUrl}/api/v1/todos?${query}`, { headers: { "x-user-id": userId } });
    ({ next_cursor: cursor } = (await response.json()) as { next_cursor: string | null });
    if (!cursor) throw new Error(`the user has fewer than ${after} todos`);
  }
  return cursor as string;
}

const manyUsers = (count: number) => Array.from({ length: count }, () => crypto.randomUUID());
const uuidArray = (ids: string[]) => `{${ids.join(",")}}`;

/**
 * `perUser` todos for each of the users (who have none yet), created one second apart, returned user by user,
 * newest first; with the change feed, at positions 1 to perUser (oldest first), counted on the users row.
 */
async function insertTodos(sql: SQL, changeFeed: boolean, users: string[], perUser: number): Promise<{ id: string }[]> {
  if (!changeFeed) {
    return sql`
      insert into todos (user_id, title, description, created_at)
      select u.id, 'Todo number ' || i, case when i % 2 = 0 then 'A description of todo ' || i end, now() - make_interval(secs => i)
      from unnest(${uuidArray(users)}::uuid[]) with ordinality as u(id, k), generate_series(1, ${perUser}::int) as i
      order by u.k, i
      returning id`;
  }
  return sql`
    with counted as (
      update users set todo_count = todo_count + ${perUser}, change_position = change_position + ${perUser}
      where id = any(${uuidArray(users)}::uuid[])
      returning id, change_position - ${perUser} as base)
    insert into todos (user_id, title, description, created_at, change_position)
    select u.id, 'Todo number ' || i, case when i % 2 = 0 then 'A description of todo ' || i end, now() - make_interval(secs => i),
      counted.base + ${perUser} + 1 - i
    from unnest(${uuidArray(users)}::uuid[]) with ordinality as u(id, k) join counted using (id), generate_series(1, ${perUser}::int) as i
    order by u.k, i
    returning id`;
}

type RestoredUsers = {
  heavyCreators: string[];
  newCreators: string[];
  deleteUsers: string[];
  threads: number;
  deletablePerThread: number;
  /** Every seeded todo was created before this instant, every todo the bench makes after it. */
  seededAt: Date;
};

/**
 * What the write cases changed, put back: each of their runs starts from the same rows, however many runs
 * came before. Then a vacuum: the rows taken away would otherwise stay as dead tuples (and index entries)
 * that later runs read past, autovacuum being slow to come or, as on the machine of these figures, off.
 */
function restorer(sql: SQL, changeFeed: boolean, users: RestoredUsers) {
  // wrk stops with requests in flight, and the server finishes them: a delete committed after the refill looked
  // would leave a todo missing from the next run (a 404 there). So a restore waits for them first.
  const settle = async () => {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await Bun.sleep(20)) {
      const [{ busy }] = await sql`select count(*)::int as busy from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`;
      if (busy === 0) return;
    }
    throw new Error("the database was still busy 10 s after a run: the fixtures cannot be put back");
  };
  const vacuum = () => (changeFeed ? sql`vacuum todos, users, todo_tombstones` : sql`vacuum todos, users`);
  const { threads, deletablePerThread, seededAt } = users;
  const deleteUsers = uuidArray(users.deleteUsers);
  const userCount = users.deleteUsers.length;
  // The numbered todos, each with its user ($1, the delete users), that are not there.
  const missing = `
    select wanted.* from (
      select ${numberedTodoIdSql("t", "n")} as id, ($1::uuid[])[${deleteUserIndexSql("t", "n", userCount)} + 1] as user_id
      from generate_series(0, ${threads - 1}) as t, generate_series(1, ${deletablePerThread}) as n) as wanted
    where not exists (select from todos where todos.user_id = wanted.user_id and todos.id = wanted.id)`;
  return {
    /** The heavy creators' todos made since seeding removed (their rows count them again). */
    async restoreHeavyCreators() {
      await settle();
      const heavy = uuidArray(users.heavyCreators);
      if (changeFeed) {
        await sql`
          with removed as (delete from todos where user_id = any(${heavy}::uuid[]) and created_at > ${seededAt} returning user_id)
          update users set todo_count = users.todo_count - gone.count
          from (select user_id, count(*)::int as count from removed group by user_id) as gone
          where users.id = gone.user_id`;
      } else {
        await sql`delete from todos where user_id = any(${heavy}::uuid[]) and created_at > ${seededAt}`;
      }
      await vacuum();
    },

    /** The new creators as new as they were: no row (it goes, and their todos with it, by the cascade). */
    async restoreNewCreators() {
      await settle();
      await sql`delete from users where id = any(${uuidArray(users.newCreators)}::uuid[])`;
      await vacuum();
    },

    /**
     * Every numbered todo the delete case may delete there again (each one put back takes the next position
     * of its user, who counts it), and the delete users' tombstones gone: every run deletes for users with
     * as few tombstones as the one before.
     */
    async refillDeletable() {
      await settle();
      if (changeFeed) {
        await sql`
          with gone as (delete from todo_tombstones where user_id = any(${deleteUsers}::uuid[]) returning user_id)
          update users set tombstone_count = 0 where id in (select user_id from gone)`;
        await sql.unsafe(
          `with missing as materialized (${missing}),
          numbered as (select missing.*, row_number() over (partition by user_id order by id) as k from missing),
          counted as (
            update users set todo_count = users.todo_count + added.count, change_position = users.change_position + added.count
            from (select user_id, count(*)::int as count from missing group by user_id) as added
            where users.id = added.user_id
            returning users.id, users.change_position - added.count as base)
          insert into todos (id, user_id, title, change_position)
          select numbered.id, numbered.user_id, 'Todo to delete', counted.base + numbered.k
          from numbered join counted on counted.id = numbered.user_id`,
          [deleteUsers],
        );
      } else {
        await sql.unsafe(`insert into todos (id, user_id, title) select id, user_id, 'Todo to delete' from (${missing}) as missing`, [
          deleteUsers,
        ]);
      }
      await vacuum();
    },
  };
}
