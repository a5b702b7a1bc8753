// Conditional requests (RFC 9110 §8.8.3, §13): a todo's ETag, and the If-Match and If-None-Match
// headers read into plain values for the store. The ETag names the todo and its version, so a tag
// copied from one todo never matches another that happens to be at the same version.

/** The strong entity tag of a todo at a version. */
export const etagOf = (id: string, version: number) => `"${id}.${version}"`;

// An entity-tag is an opaque quoted string, optionally weak (W/). A list is comma-separated, and a
// comma may also sit inside quotes, so tags are matched rather than split.
const ENTITY_TAG = /(W\/)?"([^"]*)"/g;

function* entityTags(header: string) {
  for (const [, weak, opaque] of header.matchAll(ENTITY_TAG)) yield { weak: weak !== undefined, opaque: opaque ?? "" };
}

/** A version no todo ever has: a condition that can only fail, so the store still says missing or not. */
const NO_VERSION = 0;
const MAX_VERSION = 2_147_483_647;

/**
 * If-Match on a change to todo `id`: the version the change requires, or undefined for none (no header,
 * or `*`, which any existing todo matches). Strong comparison: a weak tag never matches. Of several
 * tags of this todo, the highest counts: versions only grow, so a lower one is already out of date.
 */
export function requiredVersion(ifMatch: string | undefined, id: string): number | undefined {
  if (ifMatch === undefined || ifMatch.trim() === "*") return undefined;
  const prefix = `${id.toLowerCase()}.`;
  let version = NO_VERSION;
  for (const tag of entityTags(ifMatch)) {
    if (tag.weak || !tag.opaque.startsWith(prefix)) continue;
    const digits = tag.opaque.slice(prefix.length);
    // A number past the column's range is no version of ours.
    if (/^[1-9]\d{0,9}$/.test(digits) && Number(digits) <= MAX_VERSION) version = Math.max(version, Number(digits));
  }
  return version;
}

/** If-None-Match on a read: true when the client's copy is current (weak comparison), so 304. */
export function clientHasCurrent(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  // What a client sends back most often: the one tag it was given.
  if (ifNoneMatch === etag || ifNoneMatch.trim() === "*") return true;
  const opaque = etag.slice(1, -1);
  for (const tag of entityTags(ifNoneMatch)) if (tag.opaque === opaque) return true;
  return false;
}
