// `bun run users:rekey -- --issuer <iss>`: once, on a bearer-mode deployment, before the version in which
// every subject names a derived id (src/auth/subject.ts) serves requests. Before it, a UUID subject was the
// user id itself, lower-cased; this moves each such user's rows to the id that subject names now.
// Never in header mode: there X-User-Id is the user id, and this would move every user's todos to an id no
// request names. See docs/auth.md.
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { ConfigError, readConfig } from "../config";
import { connect, type Db } from "../db/connect";
import { DataDirectoryError } from "../db/data-dir-lock";
import { rowsOf } from "../db/rows";
import { userIdOf } from "./subject";

const USAGE =
  'usage: bun src/auth/rekey-cli.ts --issuer <the tokens\' iss, "" if they have none>\n' +
  "bearer mode only (AUTH_JWKS_URL or AUTH_JWT_SECRET set); never run it on a header-mode (X-User-Id) deployment";

// Every derived id is version 5; a UUID subject of version 5 cannot be told from one and stays where it is.
const DERIVED = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Reference = { schema: string; table: string; column: string };

// Read from the database, not schema.ts: the command runs against whichever version's tables are deployed,
// and a table it missed would lose its rows to the cascade when the old users row is deleted.
const REFERENCES_TO_USERS = sql`
  select n.nspname as schema, r.relname as table, a.attname as column
  from pg_constraint c
    join pg_class r on r.oid = c.conrelid
    join pg_namespace n on n.oid = r.relnamespace
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
  where c.contype = 'f' and c.confrelid = 'users'::regclass`;

/** Moves one user's rows to `to`, joining any rows already there. */
async function moveUser(db: Db, references: Reference[], from: string, to: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    // Locked first: a row inserted for `from` meanwhile waits, instead of being deleted by the cascade below.
    if ((await rowsOf(tx, sql`select 1 from users where id = ${from} for update`)).length === 0) return false;
    await tx.execute(
      sql`insert into users (id, created_at) select ${to}, created_at from users where id = ${from} on conflict (id) do nothing`,
    );
    // The counts join: the moved todos take the next change position of `to`, so that a device of `to`
    // that synced before sees them in its next feed.
    await tx.execute(sql`with joined as (
        update users set change_position = greatest(users.change_position, moving.change_position) + 1,
          todo_count = users.todo_count + moving.todo_count,
          forgotten_through = greatest(users.forgotten_through, moving.forgotten_through)
        from users as moving where users.id = ${to} and moving.id = ${from}
        returning users.change_position)
      update todos set change_position = joined.change_position from joined where todos.user_id = ${from}`);
    for (const { schema, table, column } of references) {
      const [where, what] = [sql`${sql.identifier(schema)}.${sql.identifier(table)}`, sql.identifier(column)];
      await tx.execute(sql`update ${where} set ${what} = ${to} where ${what} = ${from}`);
    }
    await tx.execute(sql`delete from users where id = ${from}`);
    return true;
  });
}

/** Moves every user not under a derived id to the id its subject names under `issuer`; a second run finds none. */
export async function rekeyUsers(db: Db, issuer: string): Promise<{ moved: number; failed: string[] }> {
  const references = await rowsOf<Reference>(db, REFERENCES_TO_USERS);
  const ids = await rowsOf<{ id: string }>(db, sql`select id from users order by id`);
  const failed: string[] = [];
  let moved = 0;
  for (const { id } of ids.filter(({ id }) => !DERIVED.test(id))) {
    try {
      if (await moveUser(db, references, id, userIdOf(issuer, id))) moved++;
    } catch (error) {
      failed.push(`${id}: ${error instanceof Error ? error.message : error}`);
    }
  }
  return { moved, failed };
}

async function main(): Promise<number> {
  let issuer: string | undefined;
  try {
    issuer = parseArgs({ options: { issuer: { type: "string" } } }).values.issuer;
  } catch {
    // An unknown option or a missing value: answered with the usage below.
  }
  if (issuer === undefined) throw new ConfigError(USAGE);
  const config = readConfig();
  if (config.auth.mode === "header") throw new ConfigError(`refused: this is a header-mode configuration\n${USAGE}`);
  if (config.auth.issuer !== undefined && config.auth.issuer !== issuer) {
    throw new ConfigError(`--issuer must be AUTH_ISSUER ("${config.auth.issuer}"), the iss of every token accepted`);
  }
  const database = await connect(config.database, { poolMax: 1, statementTimeoutMs: 0 });
  try {
    const { moved, failed } = await rekeyUsers(database.db, issuer);
    console.log(`${moved} users moved to the ids their subjects name under issuer "${issuer}"`);
    for (const failure of failed) console.error(`not moved (rerun once resolved): ${failure}`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    await database.close();
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.message);
    else if (error instanceof DataDirectoryError) console.error(error.message);
    else console.error(error);
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  }
}
