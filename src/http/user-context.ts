// Who is calling. Until authentication lands, the X-User-Id header is trusted as is:
// the service belongs behind a gateway that sets it.
import { isUuid } from "../todos/model";
import { ApiError } from "./problem";

export function userIdFromHeader(headers: Headers): string {
  const value = headers.get("x-user-id")?.trim();
  if (!value) {
    throw new ApiError(400, "MISSING_USER_CONTEXT", "Send the caller's user id in the X-User-Id header.");
  }
  if (!isUuid(value)) {
    throw new ApiError(400, "VALIDATION_ERROR", "The X-User-Id header must be a UUID such as 3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b.", [
      { field: "X-User-Id", message: "must be a UUID" },
    ]);
  }
  return value.toLowerCase();
}
