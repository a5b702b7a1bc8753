// Request bodies: JSON only, size- and time-limited, parsed once.
import { within } from "../deadline";
import { ApiError } from "./problem";

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

function tooLarge(limit: number) {
  return new ApiError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes.`);
}

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
  return within(
    body,
    timeoutMs,
    () => new ApiError(408, "REQUEST_TIMEOUT", `The request body did not arrive within ${timeoutMs} ms; send it at once.`),
  );
}

// One decoder for every body: decode() without { stream: true } starts afresh each time.
const utf8 = new TextDecoder("utf-8", { fatal: true });

const METHODS_WITH_BODIES = new Set(["POST", "PUT", "PATCH"]);

/** The body as JSON; null, and not read at all, for a method whose body we ignore (DELETE). */
export async function parseJsonBody(request: Request, { limit, timeoutMs }: { limit: number; timeoutMs: number }): Promise<unknown> {
  // null, not undefined: undefined would let Elysia's own parser read the body.
  if (!METHODS_WITH_BODIES.has(request.method)) return null;
  // No body at all: leave it to the route's schema to require one (null, as undefined would let Elysia's
  // JSON parser, which a route names to document its body, try an empty body).
  if (!request.body && !request.headers.has("content-type")) return null;
  const contentType = request.headers.get("content-type") ?? "";
  if (!JSON_TYPE.test(contentType)) {
    throw new ApiError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Send the body as JSON with Content-Type: application/json (got "${contentType.slice(0, 100) || "none"}").`,
    );
  }
  const bytes = await readBytes(request, limit, timeoutMs);
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

// Our bodies are flat. Elysia's validation error pretty-prints the whole value: 30,000 nested arrays take seconds, then a 500.
const MAX_DEPTH = 32;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * What is wrong with the shape of text known to be valid JSON, if anything: a key twice in one
 * object (JSON.parse silently keeps the last one, while a proxy, WAF or other reader may take the
 * first), or nesting deeper than any of our documents has.
 */
export function jsonShapeProblem(text: string): string | undefined {
  // A scan by character codes: it runs on every body, and a regular expression's matches cost several
  // times JSON.parse itself.
  const open: (Set<string> | null)[] = []; // per open bracket: an object's keys so far, or null for an array
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      open.push(c === OPEN_OBJECT ? new Set() : null);
      if (open.length > MAX_DEPTH) return `is nested more than ${MAX_DEPTH} levels deep`;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) open.pop();
    else if (c === QUOTE) {
      // Valid JSON: the string ends at the next quote that is not escaped.
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== QUOTE; i++) {
        if (text.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      const keys = open[open.length - 1];
      if (!keys) continue;
      let next = i + 1;
      while (isJsonSpace(text.charCodeAt(next))) next++;
      // A string in an object is a key when a colon follows it; else it is a value.
      if (text.charCodeAt(next) !== COLON) continue;
      // Escapes decoded, so "t\u0069tle" and "title" compare equal (most keys have none to decode).
      const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
      if (keys.has(key)) {
        const name = JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key);
        return `has the property ${name} twice in one object; send each property once`;
      }
      keys.add(key);
    }
  }
  return undefined;
}
