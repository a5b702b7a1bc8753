import { type AnyColumn, sql } from "drizzle-orm";

/**
 * A timestamp column as ISO-8601 text in UTC with milliseconds, formatted by Postgres itself: every
 * driver then returns the exact stored value (Drizzle's bun-sql mapping of timestamps has open reports
 * of shifted zones and lost precision).
 */
export const utcText = (column: AnyColumn, name: string) =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as(name);
