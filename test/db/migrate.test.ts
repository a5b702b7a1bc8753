import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Db } from "../../src/db/connect";
import { connect } from "../../src/db/connect";
import { MIGRATION_LOCK_ID, migrate } from "../../src/db/migrate";
import { createTestDatabase, queryRows as rows, testDriver } from "../support/database";

const journal = (await Bun.file(new URL("../../drizzle/meta/_journal.json", import.meta.url)).json()) as { entries: unknown[] };

const tableNames = async (db: Db) =>
  (
    await rows<{ table_name: string }>(db, sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`)
  ).map((r) => r.table_name);

test("migrating creates the tables, and migrating again changes nothing", async () => {
  const fresh = await createTestDatabase({ migrated: false });
  try {
    expect(await tableNames(fresh.database.db)).toEqual([]);
    await migrate(fresh.database, fresh.config.database);
    await migrate(fresh.database, fresh.config.database);
    expect(await tableNames(fresh.database.db)).toEqual(["idempotency_keys", "todo_tombstones", "todos", "users"]);
    const applied = await rows<{ n: number }>(fresh.database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(applied[0]?.n).toBe(journal.entries.length);
  } finally {
    await fresh.drop();
  }
}, 30_000);

// PGlite lives inside one process, so only a server can see instances start at once.
if (testDriver === "pglite") console.log("skipped: concurrent start-up migrations need a Postgres server (set TEST_DATABASE_URL)");
test.skipIf(testDriver === "pglite")(
  "instances starting at once all migrate, and the schema is created once",
  async () => {
    const fresh = await createTestDatabase({ migrated: false });
    try {
      await Promise.all([1, 2, 3, 4].map(() => migrate(fresh.database, fresh.config.database)));
      expect(await tableNames(fresh.database.db)).toEqual(["idempotency_keys", "todo_tombstones", "todos", "users"]);
      const applied = await rows<{ n: number }>(fresh.database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
      expect(applied[0]?.n).toBe(journal.entries.length);
    } finally {
      await fresh.drop();
    }
  },
  30_000,
);

test.skipIf(testDriver === "pglite")(
  "waiting for another instance's migration is not cut off by the request time budget",
  async () => {
    const fresh = await createTestDatabase({ migrated: false });
    const config = { ...fresh.config.database, queryTimeoutMs: 100 };
    const other = await connect(config, { poolMax: 1, statementTimeoutMs: 0 });
    try {
      await other.db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`);
      const waiting = migrate(fresh.database, config);
      await Bun.sleep(500);
      // Five times the 100 ms runQuery later, it still waits for the lock, and has created nothing.
      expect(await tableNames(fresh.database.db)).toEqual([]);
      await other.db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
      await waiting;
      expect(await tableNames(fresh.database.db)).toEqual(["idempotency_keys", "todo_tombstones", "todos", "users"]);
    } finally {
      await other.close();
      await fresh.drop();
    }
  },
  30_000,
);

// Migrations run by hand, in order, up to the one a test is about.
const folder = new URL("../../drizzle/", import.meta.url);
const tags = (journal.entries as { tag: string }[]).map((entry) => entry.tag);
const statementsOf = async (tag: string) => (await Bun.file(new URL(`${tag}.sql`, folder)).text()).split("--> statement-breakpoint");
async function apply(db: Db, tagsToApply: string[]) {
  for (const tag of tagsToApply) for (const statement of await statementsOf(tag)) await db.execute(sql.raw(statement));
}

test("todos that existed before updated_at get it equal to their created_at, at version 1", async () => {
  const fresh = await createTestDatabase({ migrated: false });
  try {
    const addsUpdatedAt = tags.findIndex((tag) => tag.includes("idempotency"));
    await apply(fresh.database.db, tags.slice(0, addsUpdatedAt));
    const user = crypto.randomUUID();
    await fresh.database.db.execute(sql`insert into users (id) values (${user})`);
    await fresh.database.db.execute(
      sql`insert into todos (user_id, title, created_at) values (${user}, 'old', '2024-01-02 03:04:05.678+00')`,
    );
    await apply(fresh.database.db, [tags[addsUpdatedAt] as string]);
    const [row] = await rows<{ same: boolean; version: number }>(
      fresh.database.db,
      sql`select updated_at = created_at as same, version from todos where user_id = ${user}`,
    );
    expect(row).toEqual({ same: true, version: 1 });
  } finally {
    await fresh.drop();
  }
}, 30_000);

test("Idempotency-Keys kept on todo rows move to their own table, and deleted todos' rows go", async () => {
  const fresh = await createTestDatabase({ migrated: false });
  const { db } = fresh.database;
  try {
    const movesKeys = tags.findIndex((tag) => tag.includes("keys_in_their_own_table"));
    await apply(db, tags.slice(0, movesKeys));
    const user = crypto.randomUUID();
    await db.execute(sql`insert into users (id) values (${user})`);
    const [live, deleted, expired, plain] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await db.execute(sql`insert into todos (id, user_id, title, idempotency_key, request_hash, created_at, deleted_at) values
      (${live}, ${user}, 'kept', 'live', 'hash-live', now(), null),
      (${deleted}, ${user}, '', 'deleted', 'hash-deleted', now(), now()),
      (${expired}, ${user}, 'old', 'expired', 'hash-expired', now() - interval '25 hours', null),
      (${plain}, ${user}, 'plain', null, null, now(), null)`);
    await apply(db, [tags[movesKeys] as string]);
    expect(await rows(db, sql`select key, request_hash, todo_id from idempotency_keys where user_id = ${user} order by key`)).toEqual([
      { key: "deleted", request_hash: "hash-deleted", todo_id: deleted },
      { key: "live", request_hash: "hash-live", todo_id: live },
    ]);
    expect(await rows(db, sql`select title from todos where user_id = ${user} order by title`)).toEqual([
      { title: "kept" },
      { title: "old" },
      { title: "plain" },
    ]);
  } finally {
    await fresh.drop();
  }
}, 30_000);

test("todos already there take change positions in the order they last changed, and their users count them", async () => {
  const fresh = await createTestDatabase({ migrated: false });
  const { db } = fresh.database;
  try {
    const addsFeed = tags.findIndex((tag) => tag.includes("change_feed"));
    await apply(db, tags.slice(0, addsFeed));
    const [user, other] = [crypto.randomUUID(), crypto.randomUUID()];
    await db.execute(sql`insert into users (id) values (${user}), (${other})`);
    await db.execute(sql`insert into todos (user_id, title, created_at, updated_at) values
      (${user}, 'changed last', '2024-01-01 00:00:00+00', '2024-03-01 00:00:00+00'),
      (${user}, 'changed first', '2024-02-01 00:00:00+00', '2024-02-01 00:00:00+00')`);
    await apply(db, [tags[addsFeed] as string]);
    expect(await rows(db, sql`select title, change_position::int as position from todos order by change_position`)).toEqual([
      { title: "changed first", position: 1 },
      { title: "changed last", position: 2 },
    ]);
    expect(await rows(db, sql`select id, todo_count, change_position::int as position from users order by todo_count`)).toEqual([
      { id: other, todo_count: 0, position: 0 },
      { id: user, todo_count: 2, position: 2 },
    ]);
  } finally {
    await fresh.drop();
  }
}, 30_000);
