// Header mode: the X-User-Id header, trusted as is (the service then belongs behind a gateway that
// authenticates the caller and sets it).
import { ApiError } from "../http/problem";
import { isUuid } from "../uuid";
import type { Caller } from "./caller";

export const missingUserContext = () => new ApiError(400, "MISSING_USER_CONTEXT", "Send the caller's user id in the X-User-Id header.");

export const malformedUserId = () =>
  new ApiError(400, "VALIDATION_ERROR", "The X-User-Id header must be a UUID such as 3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b.", [
    { field: "X-User-Id", code: "invalid_format", message: "must be a UUID" },
  ]);

export function callerFromHeader(headers: Headers): Caller {
  const value = headers.get("x-user-id")?.trim();
  if (!value) throw missingUserContext();
  if (!isUuid(value)) throw malformedUserId();
  return { userId: value.toLowerCase(), subject: value, email: null, name: null, expiresAt: null };
}
