import type { SQLWrapper } from "drizzle-orm";
import type { Db } from "./connect";

/** The rows of a statement run with `execute`, whichever driver ran it (Bun's client answers an array, the others `{ rows }`). */
export async function rowsOf<T>(db: Pick<Db, "execute">, query: SQLWrapper): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}
