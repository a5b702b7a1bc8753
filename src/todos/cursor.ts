// The list cursor: an opaque token for where the next page starts: the position of the last todo a page showed,
// in that page's order, bound to that order and to a digest of its filters (a cursor used with another order or
// other filters would start somewhere meaningless, so the route refuses it). It is only a position: the store
// always filters by the caller, so a cursor edited by hand, or taken from another user, can move where a page
// starts but never what it may contain. It names nothing the caller has not been shown, hence no signature.
//
// Base64url without padding of: a version byte, the order (sort and direction), 8 bytes of the filters' digest,
// the id's 16 bytes, then the order's keys: an instant in milliseconds (created_at, updated_at), a priority and
// an instant (priority), or the lower-cased title as UTF-8 (title). Decoding is strict (alphabet, canonical
// spelling, version, lengths, a date Postgres and JSON agree on, valid UTF-8), so a malformed, truncated or
// tampered cursor is refused instead of read as some position.
import { PRIORITIES } from "../db/schema";
import { type Direction, type ListFilters, type ListPosition, SORTS, type Sort } from "./store-pages";

export type Cursor = { sort: Sort; order: Direction; filters: string; position: ListPosition };

const VERSION = 2;
const HEAD = 1 + 1 + 1 + 8 + 16;
const TITLE_MAX_BYTES = 1024;
const TEXT = /^[A-Za-z0-9_-]+$/;
const MAX_TEXT = Math.ceil(((HEAD + TITLE_MAX_BYTES) * 4) / 3);
// Years 1 to 9999: the instants toISOString() writes in a form Postgres reads back.
const EARLIEST_MS = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST_MS = Date.parse("9999-12-31T23:59:59.999Z");
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The filters as 16 hex digits: two lists with the same filters, in any spelling, share it. */
export function filtersDigest({ completed, priorities, q }: ListFilters): string {
  const canonical = JSON.stringify([completed ?? null, priorities ? [...new Set(priorities)].sort() : null, q ?? null]);
  return new Bun.CryptoHasher("sha256").update(canonical).digest("hex").slice(0, 16);
}

export function encodeCursor({ sort, order, filters, position }: Cursor): string {
  const head = Buffer.alloc(HEAD);
  head.writeUInt8(VERSION, 0);
  head.writeUInt8(SORTS.indexOf(sort), 1);
  head.writeUInt8(order === "asc" ? 0 : 1, 2);
  Buffer.from(filters, "hex").copy(head, 3);
  Buffer.from(position.id.replaceAll("-", ""), "hex").copy(head, 11);
  const instant = () => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64BE(BigInt(Date.parse(position.at ?? "")));
    return bytes;
  };
  const keys =
    sort === "title"
      ? Buffer.from(position.title ?? "", "utf8")
      : sort === "priority"
        ? Buffer.concat([Buffer.of(PRIORITIES.indexOf(position.priority ?? "Medium")), instant()])
        : instant();
  return Buffer.concat([head, keys]).toString("base64url");
}

/** What a cursor names, or undefined when it is not a cursor this service wrote. */
export function decodeCursor(cursor: string): Cursor | undefined {
  if (cursor.length > MAX_TEXT || !TEXT.test(cursor)) return undefined;
  const bytes = Buffer.from(cursor, "base64url");
  // Base64 has several spellings of the same bytes (the last character's spare bits); only ours is accepted.
  if (bytes.length < HEAD || bytes.toString("base64url") !== cursor || bytes.readUInt8(0) !== VERSION) return undefined;
  const sort = SORTS[bytes.readUInt8(1)];
  const orderByte = bytes.readUInt8(2);
  if (sort === undefined || orderByte > 1) return undefined;
  const hex = bytes.subarray(11, HEAD).toString("hex");
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const keys = bytes.subarray(HEAD);
  const instantAt = (offset: number) => {
    if (keys.length !== offset + 8) return undefined;
    const ms = Number(keys.readBigInt64BE(offset));
    return ms < EARLIEST_MS || ms > LATEST_MS ? undefined : new Date(ms).toISOString();
  };
  let position: ListPosition | undefined;
  if (sort === "title") {
    const title = keys.length <= TITLE_MAX_BYTES ? decodeText(keys) : undefined;
    // A title has no control characters (and Postgres text no NUL).
    position = title === undefined || /[\p{Cc}]/u.test(title) ? undefined : { id, title };
  } else if (sort === "priority") {
    const [priority, at] = [PRIORITIES[keys[0] ?? 255], instantAt(1)];
    position = priority && at ? { id, priority, at } : undefined;
  } else {
    const at = instantAt(0);
    position = at ? { id, at } : undefined;
  }
  if (!position) return undefined;
  return { sort, order: orderByte === 0 ? "asc" : "desc", filters: bytes.subarray(3, 11).toString("hex"), position };
}

function decodeText(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
