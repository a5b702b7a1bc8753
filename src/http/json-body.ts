// Request bodies: JSON only, size- and time-limited, parsed once.
import { within } from "../deadline";
import { ApiError } from "./problem";

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** How large a body may be, and how long it may take to arrive: BODY_LIMIT_BYTES and BODY_TIMEOUT_MS. */
export type BodyLimits = { limit: number; timeoutMs: number };

export const tooLarge = (limit: number) => new ApiError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes.`);

export const bodyTooSlow = (timeoutMs: number) =>
  new ApiError(408, "REQUEST_TIMEOUT", `The request body did not arrive within ${timeoutMs} ms; send it at once.`);

export const notJson = (contentType: string) =>
  new ApiError(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    `Send the body as JSON with Content-Type: application/json (got "${contentType.slice(0, 100) || "none"}").`,
  );

// Content-Length may be absent (chunked): count what actually arrives.
async function readChunks(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readBytes(request: Request, limit: number, timeoutMs: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array(0);
  // With a declared length, HTTP framing stops Bun at that many bytes: one read, no stream callbacks.
  // (A Request built in-process is not framed, hence the check after reading.)
  const body =
    declared !== null
      ? request.arrayBuffer().then((buffer) => {
          if (buffer.byteLength > limit) throw tooLarge(limit);
          return new Uint8Array(buffer);
        })
      : readChunks(request.body, limit);
  // A body sent one byte every few seconds would hold its memory and a connection for as long as it likes.
  return within(body, timeoutMs, () => bodyTooSlow(timeoutMs));
}

// One decoder for every body: decode() without { stream: true } starts afresh each time.
const utf8 = new TextDecoder("utf-8", { fatal: true });

const METHODS_WITH_BODIES = new Set(["POST", "PUT", "PATCH"]);

/** The body as JSON; null, and not read at all, for a method whose body we ignore (DELETE). */
export async function parseJsonBody(request: Request, { limit, timeoutMs }: BodyLimits): Promise<unknown> {
  // null, not undefined: undefined would let Elysia's own parser read the body.
  if (!METHODS_WITH_BODIES.has(request.method)) return null;
  // No body at all: leave it to the route's schema to require one (null, as undefined would let Elysia's
  // JSON parser, which a route names to document its body, try an empty body).
  if (!request.body && !request.headers.has("content-type")) return null;
  const contentType = request.headers.get("content-type") ?? "";
  if (!JSON_TYPE.test(contentType)) throw notJson(contentType);
  const bytes = await readBytes(request, limit, timeoutMs);
  // Sent as JSON but empty (as some clients send every call, a PATCH with nothing to say included): no body.
  if (bytes.length === 0) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError(400, "VALIDATION_ERROR", "The request body is not valid UTF-8.");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "VALIDATION_ERROR", `The request body is not valid JSON: ${(error as Error).message}.`);
  }
  const problem = jsonShapeProblem(text);
  if (problem) throw new ApiError(400, "VALIDATION_ERROR", `The request body ${problem}.`);
  return body;
}

// Our bodies are flat, and a deeply nested value makes Elysia's validation error slow to describe it.
const MAX_DEPTH = 32;

// The tokens that give JSON its shape: a string (with the colon after it, when it is a key) or a
// bracket. The scan is meant for text JSON.parse accepted; a string never closed runs to the end
// of the text, so even on other text no match is abandoned and retried, and the scan stays linear.
const SHAPE_TOKENS = /"(?:[^"\\]|\\[\s\S])*(?:"(\s*:)?|\\?$)|[{}[\]]/g;

/** A key as JSON.parse reads it, so "t\u0069tle" and "title" are one key (text that is not JSON keeps it raw). */
function keyOf(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted;
  }
}

/**
 * What is wrong with the shape of text that JSON.parse accepted, if anything: a key twice in one
 * object (JSON.parse silently keeps the last one, while a proxy, WAF or other reader may take the
 * first), or nesting deeper than any of our documents has.
 */
export function jsonShapeProblem(text: string): string | undefined {
  const open: (Set<string> | null)[] = []; // per open bracket: an object's keys so far, or null for an array
  for (const [token, colon] of text.matchAll(SHAPE_TOKENS)) {
    if (token === "{" || token === "[") {
      open.push(token === "{" ? new Set() : null);
      if (open.length > MAX_DEPTH) return `is nested more than ${MAX_DEPTH} levels deep`;
    } else if (token === "}" || token === "]") open.pop();
    else if (colon !== undefined) {
      const key = keyOf(token.slice(0, token.length - colon.length));
      const keys = open.at(-1);
      if (keys?.has(key)) {
        const name = JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key);
        return `has the property ${name} twice in one object; send each property once`;
      }
      keys?.add(key);
    }
  }
  return undefined;
}
