// The list cursor: an opaque token for a position in the newest-first order, (created_at, id) of
// the last todo a page showed. It is only a position: the store always filters by the caller, so
// a cursor edited by hand, or taken from another user, can move where a page starts but never
// what it may contain. It names nothing the caller has not already been shown, hence no signature.
//
// 25 bytes, base64url without padding: a version byte, created_at in milliseconds since the epoch
// (created_at is stored with millisecond precision, so the position is exact), and the id's 16 bytes.
// Decoding is strict (length, alphabet, version, canonical form, a date Postgres and JSON agree
// on), so a malformed, truncated or tampered cursor is refused instead of read as some position.
/** Where a page starts: the todo it starts after. */
export type TodoPosition = { created_at: string; id: string };

const VERSION = 1;
const BYTES = 25;
const TEXT = /^[A-Za-z0-9_-]{34}$/;
// Years 1 to 9999: the instants toISOString() writes in a form Postgres reads back.
const EARLIEST_MS = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST_MS = Date.parse("9999-12-31T23:59:59.999Z");

export function encodeCursor({ created_at, id }: TodoPosition): string {
  const bytes = Buffer.alloc(BYTES);
  bytes.writeUInt8(VERSION, 0);
  bytes.writeBigInt64BE(BigInt(Date.parse(created_at)), 1);
  Buffer.from(id.replaceAll("-", ""), "hex").copy(bytes, 9);
  return bytes.toString("base64url");
}

/** The position a cursor names, or undefined when it is not a cursor this service wrote. */
export function decodeCursor(cursor: string): TodoPosition | undefined {
  if (!TEXT.test(cursor)) return undefined;
  const bytes = Buffer.from(cursor, "base64url");
  // Base64 has several spellings of the same bytes (the last character's spare bits); only ours is accepted.
  if (bytes.length !== BYTES || bytes.toString("base64url") !== cursor || bytes.readUInt8(0) !== VERSION) return undefined;
  const ms = Number(bytes.readBigInt64BE(1));
  if (ms < EARLIEST_MS || ms > LATEST_MS) return undefined;
  const hex = bytes.subarray(9).toString("hex");
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { created_at: new Date(ms).toISOString(), id };
}
