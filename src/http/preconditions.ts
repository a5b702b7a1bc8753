// Conditional requests (RFC 9110 §8.8.3, §13): a todo's ETag, and the If-Match and If-None-Match
// headers read into plain values for the store. The ETag names the todo and its version, so a tag
// copied from one todo never matches another that happens to be at the same version.
import { ApiError } from "./problem";

/** The strong entity tag of a todo at a version. */
export const etagOf = (id: string, version: number) => `"${id}.${version}"`;

/** A strong entity tag for a representation with no version of its own (a page of a list): a hash of its bytes. */
export const etagOfText = (text: string) => `"${Bun.hash(text).toString(36)}"`;

/**
 * Marks an answer the browser may keep for this caller only and must revalidate before each use: it
 * then sends the ETag back in If-None-Match by itself, and gets a 304 while nothing changed. Every
 * other API answer stays `no-store` (http/request-gate.ts).
 */
export function revalidatable(headers: Record<string, string | number>, etag: string): void {
  headers.etag = etag;
  headers["cache-control"] = "private, no-cache";
  // The same URL answers each caller with their own todos: a copy is good only for the same credentials.
  const vary = headers.vary;
  headers.vary = vary ? `${vary}, Authorization, X-User-Id` : "Authorization, X-User-Id";
}

// `*` is a form of its own, not a list member: `*, "x"` is malformed.
const ANY = /^[ \t]*\*[ \t]*$/;

// One list member and the comma after it (RFC 9110 §5.6.1: empty members are allowed), anchored where
// the previous one ended. A comma may sit inside the quotes, so the list is walked, not split. Each
// repeat is followed by a character it cannot match, so the text can be read one way only and the
// walk stays linear in the length of an untrusted header.
const LIST_MEMBER = /[ \t]*(?:(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)"[ \t]*)?(?:,|$)/y;

type EntityTag = { weak: boolean; opaque: string };

/** The entity tags of a list, or undefined when it is not one. */
function entityTags(header: string): EntityTag[] | undefined {
  const tags: EntityTag[] = [];
  LIST_MEMBER.lastIndex = 0;
  while (LIST_MEMBER.lastIndex < header.length) {
    const member = LIST_MEMBER.exec(header);
    if (member === null) return undefined;
    const [, weak, opaque] = member;
    if (opaque !== undefined) tags.push({ weak: weak !== undefined, opaque });
  }
  return tags;
}

// The version column's range; a tag naming a number outside it, or written otherwise (01, 1e3), was
// not issued by us and names no version.
const VERSION = /^[1-9]\d{0,9}$/;
const MAX_VERSION = 2_147_483_647;

const versionIn = (digits: string) => (VERSION.test(digits) && Number(digits) <= MAX_VERSION ? Number(digits) : undefined);

const invalidIfMatch = new ApiError(
  400,
  "VALIDATION_ERROR",
  `If-Match must be * or one or more ETags exactly as this API sent them, in double quotes and separated by commas, such as ${etagOf("0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1b7c90", 3)}.`,
  [{ field: "If-Match", code: "invalid_format", message: "must be * or comma-separated ETags in double quotes" }],
);

/**
 * If-Match on a change to todo `id`: undefined when the change is unconditional (no header, or `*`,
 * which any existing todo matches); else the versions of this todo the header names by strong tags
 * (strong comparison: a weak tag never matches), empty when it names none, so the change can only fail.
 * Throws a 400 when the header is neither `*` nor a list of entity tags.
 */
export function ifMatchVersions(ifMatch: string | undefined, id: string): number[] | undefined {
  if (ifMatch === undefined || ANY.test(ifMatch)) return undefined;
  const tags = entityTags(ifMatch);
  if (tags === undefined) throw invalidIfMatch;
  // The path may spell the id in upper case; the tags we issue carry it in lower case.
  const prefix = `${id.toLowerCase()}.`;
  const versions = new Set<number>();
  for (const { weak, opaque } of tags) {
    if (weak || !opaque.startsWith(prefix)) continue;
    const version = versionIn(opaque.slice(prefix.length));
    if (version !== undefined) versions.add(version);
  }
  return [...versions];
}

/**
 * If-None-Match on a read: true when the client's copy is current (weak comparison: W/"x" matches "x"),
 * so 304. A malformed header never matches: the full answer is always safe.
 */
export function clientHasCurrent(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ANY.test(ifNoneMatch)) return true;
  const opaque = etag.slice(1, -1);
  return entityTags(ifNoneMatch)?.some((tag) => tag.opaque === opaque) ?? false;
}
