// `users:rekey`: users stored under their UUID subject move to the id that subject names now, once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { rekeyUsers } from "../../src/auth/rekey-cli";
import { userIdOf } from "../../src/auth/subject";
import { readConfig } from "../../src/config";
import { connect, type Database, type Db } from "../../src/db/connect";
import { migrate } from "../../src/db/migrate";
import { createServerDatabase, createTestDatabase, queryRows, type TestDatabase } from "../support/database";

const ISSUER = "https://auth.example.com";
const CREATED = "2025-01-02T03:04:05.000Z";

// A database of its own: the command moves every user in it, and the shared one holds other files' users.
let own: TestDatabase;
let db: Db;
beforeAll(async () => {
  own = await createTestDatabase();
  db = own.database.db;
});
afterAll(() => own.drop());

async function seed(into: Db, userId: string, titles: string[]) {
  await into.execute(sql`insert into users (id, created_at) values (${userId}, ${CREATED}::timestamptz) on conflict do nothing`);
  for (const title of titles)
    await into.execute(sql`with counted as (
        update users set change_position = change_position + 1, todo_count = todo_count + 1 where id = ${userId} returning change_position)
      insert into todos (user_id, title, change_position) select ${userId}, ${title}, change_position from counted`);
}

const titlesOf = async (from: Db, userId: string) =>
  (await queryRows<{ title: string }>(from, sql`select title from todos where user_id = ${userId} order by title`)).map(
    ({ title }) => title,
  );
const userRow = async (from: Db, userId: string) =>
  queryRows<{ created_at: string }>(
    from,
    sql`select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at from users where id = ${userId}`,
  );

test("a user stored under a UUID subject moves, with their todos, to the id that subject names now", async () => {
  const subject = crypto.randomUUID();
  await seed(db, subject, ["one", "two"]);
  expect(await rekeyUsers(db, ISSUER)).toEqual({ moved: 1, failed: [] });
  const now = userIdOf(ISSUER, subject);
  expect(await titlesOf(db, now)).toEqual(["one", "two"]);
  expect(await userRow(db, now)).toEqual([{ created_at: CREATED }]);
  expect(await titlesOf(db, subject)).toEqual([]);
  expect(await userRow(db, subject)).toEqual([]);
});

test("users already under derived ids stay; a second run moves nothing and changes nothing", async () => {
  const derived = userIdOf(ISSUER, `user-${crypto.randomUUID()}`);
  const subject = crypto.randomUUID();
  await seed(db, derived, ["named by a non-UUID subject"]);
  await seed(db, subject, ["named by a UUID subject"]);
  expect((await rekeyUsers(db, ISSUER)).moved).toBe(1);
  const everything = sql`select user_id, title from todos order by user_id, title`;
  const after = await queryRows(db, everything);
  expect(await rekeyUsers(db, ISSUER)).toEqual({ moved: 0, failed: [] });
  expect(await queryRows(db, everything)).toEqual(after);
  expect(await titlesOf(db, derived)).toEqual(["named by a non-UUID subject"]);
  expect(await titlesOf(db, userIdOf(ISSUER, subject))).toEqual(["named by a UUID subject"]);
});

test("todos made under the new id in the meantime are joined by the old ones, not lost", async () => {
  const subject = crypto.randomUUID();
  await seed(db, subject, ["before"]);
  await seed(db, userIdOf(ISSUER, subject), ["meanwhile"]);
  expect(await rekeyUsers(db, ISSUER)).toEqual({ moved: 1, failed: [] });
  expect(await titlesOf(db, userIdOf(ISSUER, subject))).toEqual(["before", "meanwhile"]);
  // The joined user counts both todos, and the moved one is past every change a device of theirs has seen.
  const [joined] = await queryRows<{ todo_count: number; change_position: number; moved_at: number }>(
    db,
    sql`select todo_count, change_position::int, (select change_position::int from todos where title = 'before' and user_id = users.id) as moved_at
      from users where id = ${userIdOf(ISSUER, subject)}`,
  );
  expect(joined).toEqual({ todo_count: 2, change_position: 2, moved_at: 2 });
});

test("rows of every table keyed by user id move too, none is lost to the cascade", async () => {
  await db.execute(sql`create table notes (user_id uuid not null references users (id) on delete cascade, body text)`);
  const subject = crypto.randomUUID();
  await seed(db, subject, []);
  await db.execute(sql`insert into notes (user_id, body) values (${subject}, 'kept')`);
  expect(await rekeyUsers(db, ISSUER)).toEqual({ moved: 1, failed: [] });
  expect(await queryRows(db, sql`select user_id, body from notes`)).toEqual([{ user_id: userIdOf(ISSUER, subject), body: "kept" }]);
});

const command = (args: string[], env: Record<string, string>) => {
  const child = Bun.spawn(["bun", "src/auth/rekey-cli.ts", ...args], {
    env: { ...process.env, DATABASE_URL: "", NEON_DATABASE_URL: "", AUTH_JWKS_URL: "", AUTH_JWT_SECRET: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
};

test("without --issuer, or in header mode, the command refuses and says it is not for header mode", async () => {
  for (const [args, env] of [
    [[], {}],
    [["--issuer", ISSUER], {}],
  ] as const) {
    const [code, , stderr] = await command([...args], env);
    expect(code).toBe(2);
    expect(stderr).toContain("never run it on a header-mode (X-User-Id) deployment");
  }
}, 30_000);

type CommandDatabase = { env: Record<string, string>; use<T>(work: (db: Db) => Promise<T>): Promise<T>; drop(): Promise<void> };

/** A database the command reaches from a process of its own: a new one on the test server, or PGlite on disk. */
async function databaseForCommand(): Promise<CommandDatabase> {
  if (process.env.TEST_DATABASE_URL) {
    const server = await createServerDatabase();
    const { url = "", driver, neonWsProxy = "" } = server.config.database;
    const env = { DATABASE_URL: url, DATABASE_DRIVER: driver, NEON_WS_PROXY: neonWsProxy };
    return { env, use: (work) => work(server.database.db), drop: server.drop };
  }
  const dir = mkdtempSync(join(tmpdir(), "rekey-"));
  const { database: config } = readConfig({ PGLITE_DATA_DIR: dir });
  // Open only while used: the command cannot open a data directory another process holds.
  const opened = async <T>(work: (database: Database) => Promise<T>) => {
    const database = await connect(config);
    try {
      return await work(database);
    } finally {
      await database.close();
    }
  };
  await opened((database) => migrate(database, config));
  const drop = async () => rmSync(dir, { recursive: true, force: true });
  return { env: { PGLITE_DATA_DIR: dir }, use: (work) => opened((database) => work(database.db)), drop };
}

test("run as a command in a bearer-mode configuration, it moves the users in the configured database", async () => {
  const target = await databaseForCommand();
  try {
    const subject = crypto.randomUUID();
    await target.use((into) => seed(into, subject, ["moved by the command"]));
    const [code, stdout, stderr] = await command(["--issuer", ISSUER], {
      ...target.env,
      AUTH_JWT_SECRET: "a-development-secret-of-32-bytes!",
      AUTH_ISSUER: ISSUER,
      LOG_LEVEL: "silent",
    });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("1 users moved");
    expect(await target.use((from) => titlesOf(from, userIdOf(ISSUER, subject)))).toEqual(["moved by the command"]);
  } finally {
    await target.drop();
  }
}, 60_000);
