// The change feed's token: an opaque position in one user's changes, the (change position, id) of the
// last change a client was given. Like the list cursor it is only a position: the feed always filters by
// the caller, so a token edited by hand, or taken from another user, shows nothing that is not the
// caller's own.
//
// 25 bytes, base64url without padding: a version byte, the change position (64 bits) and the id's 16
// bytes. Decoding is strict, so a malformed, truncated or tampered token is refused, not read as a position.

/** Where a feed starts: after the change at `position` to todo `id`. */
export type SyncPosition = { position: number; id: string };

/** The start of every user's changes: before the first. */
export const FEED_START: SyncPosition = { position: 0, id: "00000000-0000-0000-0000-000000000000" };

const VERSION = 1;
const BYTES = 25;
const TEXT = /^[A-Za-z0-9_-]{34}$/;

export function encodeSyncToken({ position, id }: SyncPosition): string {
  const bytes = Buffer.alloc(BYTES);
  bytes.writeUInt8(VERSION, 0);
  bytes.writeBigInt64BE(BigInt(position), 1);
  Buffer.from(id.replaceAll("-", ""), "hex").copy(bytes, 9);
  return bytes.toString("base64url");
}

/** The position a token names, or undefined when it is not a token this service wrote. */
export function decodeSyncToken(token: string): SyncPosition | undefined {
  if (!TEXT.test(token)) return undefined;
  const bytes = Buffer.from(token, "base64url");
  // Base64 has several spellings of the same bytes (the last character's spare bits); only ours is accepted.
  if (bytes.length !== BYTES || bytes.toString("base64url") !== token || bytes.readUInt8(0) !== VERSION) return undefined;
  const position = bytes.readBigInt64BE(1);
  if (position < 0n || position > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const hex = bytes.subarray(9).toString("hex");
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { position: Number(position), id };
}
