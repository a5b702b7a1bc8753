// Request bodies: JSON only, size-limited while streaming, parsed once.
import { ApiError } from "./problem";

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

function tooLarge(limit: number) {
  return new ApiError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes.`);
}

async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length"));
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return "";
  // Content-Length may be absent (chunked) or wrong: count what actually arrives.
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
}

const METHODS_WITH_BODIES = new Set(["POST", "PUT", "PATCH"]);

export async function parseJsonBody(request: Request, limit: number): Promise<unknown> {
  // A DELETE's body is ignored, even when a client library sends a Content-Type with none.
  if (!METHODS_WITH_BODIES.has(request.method)) return undefined;
  // No body at all: leave it to the route's schema to require one.
  if (!request.body && !request.headers.has("content-type")) return undefined;
  const contentType = request.headers.get("content-type") ?? "";
  if (!JSON_TYPE.test(contentType)) {
    throw new ApiError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Send the body as JSON with Content-Type: application/json (got "${contentType.slice(0, 100) || "none"}").`,
    );
  }
  let text: string;
  try {
    text = await readText(request, limit);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "VALIDATION_ERROR", "The request body is not valid UTF-8.");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "VALIDATION_ERROR", `The request body is not valid JSON: ${(error as Error).message}.`);
  }
  checkKeysAndDepth(text);
  return body;
}

// Our bodies are flat. Elysia's validation error pretty-prints the whole value: 30,000 nested arrays take seconds, then a 500.
const MAX_DEPTH = 32;
// In text known to be valid JSON: a string (with the colon that makes it a key), or a bracket.
const TOKEN = /("[^"\\]*(?:\\.[^"\\]*)*")(\s*:)?|[{}[\]]/g;

// Duplicate keys: JSON.parse silently keeps the last one, while a proxy or WAF in front may have checked the first.
function checkKeysAndDepth(text: string): void {
  const open: (Set<string> | null)[] = []; // per open bracket: an object's keys so far, or null for an array
  for (const [token, literal, colon] of text.matchAll(TOKEN)) {
    if (token === "{" || token === "[") {
      open.push(token === "{" ? new Set() : null);
      if (open.length > MAX_DEPTH) {
        throw new ApiError(400, "VALIDATION_ERROR", `The request body is nested more than ${MAX_DEPTH} levels deep.`);
      }
    } else if (token === "}" || token === "]") open.pop();
    else if (colon && literal) {
      const key = JSON.parse(literal) as string; // so "t\u0069tle" and "title" compare equal
      const keys = open.at(-1);
      if (keys?.has(key)) {
        const name = JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key);
        throw new ApiError(
          400,
          "VALIDATION_ERROR",
          `The request body has the property ${name} twice in one object; send each property once.`,
        );
      }
      keys?.add(key);
    }
  }
}
