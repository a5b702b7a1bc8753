// How request schemas check text, and what a failed check tells the caller. The string formats are
// registered under names of our own: TypeBox's registry is global, and Elysia has a "uuid" of its own.
import { FormatRegistry, type TSchema, Type } from "@sinclair/typebox";
import { IDEMPOTENCY_KEY_MAX_LENGTH } from "../db/schema";
import { isUuid } from "../uuid";

// Control characters are never wanted; a multi-line text may keep tabs and line breaks. NUL would
// also be refused by Postgres, and a lone UTF-16 surrogate cannot be stored as UTF-8 unchanged.
/** A control character: never wanted in text, a subject's included. */
export const CONTROL = /\p{Cc}/u;
const CONTROL_EXCEPT_WHITESPACE = /(?![\t\n\r])\p{Cc}/u;
// Bidirectional overrides and isolates reorder what a reader sees ("Trojan Source").
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
// Nothing is shown by format characters (zero-width spaces and joiners, BOM, bidirectional marks),
// by combining marks with no base, nor by the letters and symbols fonts draw blank (Hangul fillers,
// the blank braille pattern).
const VISIBLE = /[^\p{White_Space}\p{Cf}\p{M}\u115F\u1160\u3164\uFFA0\u2800]/u;

const formats: Record<string, Format> = {
  "visible-text": {
    check: (value: string) => value.isWellFormed() && !CONTROL.test(value) && !BIDI_CONTROL.test(value) && VISIBLE.test(value),
    message: "must contain a visible character, and no control characters, bidirectional overrides or unpaired surrogates",
  },
  // Text to search for, which may be empty (a search box left blank).
  "search-text": {
    check: (value: string) => value.isWellFormed() && !CONTROL.test(value) && !BIDI_CONTROL.test(value),
    message: "must not contain control characters, bidirectional overrides or unpaired surrogates",
  },
  "plain-text": {
    check: (value: string) => value.isWellFormed() && !CONTROL_EXCEPT_WHITESPACE.test(value) && !BIDI_CONTROL.test(value),
    message: "must not contain control characters (other than tab and line breaks), bidirectional overrides or unpaired surrogates",
  },
  "api-uuid": { check: isUuid, message: "must be a UUID such as 3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b" },
  // The IETF httpapi draft's key, as Stripe takes it: the header's value as sent, quotes included if any.
  "idempotency-key": {
    check: (value: string) => value.length <= IDEMPOTENCY_KEY_MAX_LENGTH && /^[\x21-\x7e]+$/.test(value),
    message: `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters (no spaces), such as a UUID`,
  },
  "true-or-false": { check: (value: string) => value === "true" || value === "false", message: "must be true or false" },
};

type Format = { check: (value: string) => boolean; message: string };

/** A format of a module's own (the todo cursor, the page limit), checked and described like the ones above. */
export function registerFormat(name: string, format: Format): void {
  formats[name] = format;
  FormatRegistry.Set(name, format.check);
}

for (const [name, { check }] of Object.entries(formats)) FormatRegistry.Set(name, check);

/** What a failed format check tells the caller. */
export const formatMessage = (format: unknown): string | undefined => formats[format as string]?.message;

/**
 * Marks a request schema, and every schema inside it, as described by http/errors.ts. Elysia then
 * skips describing a failure itself, which throws on a value such as {"toString":1} (its message
 * interpolates the value). Not enumerable, so the OpenAPI document does not show it.
 */
export function describedByUs<T extends TSchema>(schema: T): T {
  const visit = (node: unknown) => {
    if (!node || typeof node !== "object") return;
    Object.defineProperty(node, "error", { value: "described by src/http/errors.ts", enumerable: false, configurable: true });
    const { properties, anyOf, items } = node as { properties?: Record<string, unknown>; anyOf?: unknown[]; items?: unknown };
    for (const child of [...Object.values(properties ?? {}), ...(anyOf ?? []), items]) visit(child);
  };
  visit(schema);
  return schema;
}

/** Where a query parameter's schema keeps the schema the OpenAPI document shows for it (api-docs/api-reference.ts). */
export const DOCUMENTED_AS = "x-documented-as";

/**
 * A positive integer query parameter up to `maximum`. Query parameters are text on the wire, and are
 * checked as text (Elysia's coercion of numbers accepts "1e2", " 5" and "0x10", and reports an
 * out-of-range number without naming the parameter); typed and documented as the integer a client sends.
 */
/** A true-or-false query parameter: checked as the text "true" or "false", typed and documented as a boolean. */
export const booleanQuery = (description: string) =>
  Type.Unsafe<boolean>(Type.String({ format: "true-or-false", description, [DOCUMENTED_AS]: { type: "boolean", description } }));

export function positiveIntegerQuery({ maximum, ...documented }: { maximum: number; default: number; description: string }) {
  const format = `integer-1-to-${maximum}`;
  registerFormat(format, {
    check: (value) => /^[1-9]\d*$/.test(value) && Number(value) <= maximum,
    message: `must be an integer from 1 to ${maximum}`,
  });
  return Type.Unsafe<number>(
    Type.String({ format, description: documented.description, [DOCUMENTED_AS]: { type: "integer", minimum: 1, maximum, ...documented } }),
  );
}
