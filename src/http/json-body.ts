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

export async function parseJsonBody(request: Request, limit: number): Promise<unknown> {
  // No body at all (a DELETE, say): leave it to the route's schema to require one.
  if (!request.body && !request.headers.has("content-type")) return undefined;
  const contentType = request.headers.get("content-type") ?? "";
  if (!JSON_TYPE.test(contentType)) {
    throw new ApiError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Send the body as JSON with Content-Type: application/json (got "${contentType || "none"}").`,
    );
  }
  let text: string;
  try {
    text = await readText(request, limit);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "VALIDATION_ERROR", "The request body is not valid UTF-8.");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "VALIDATION_ERROR", `The request body is not valid JSON: ${(error as Error).message}.`);
  }
}
