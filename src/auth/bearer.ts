// Bearer JWTs, verified with jose against the auth server's JWKS (or an HS256 secret in
// development). The caller is the token's `sub`; src/auth/subject.ts turns it into a user id.
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { AuthConfig } from "../config";
import { jsonShapeProblem } from "../http/json-body";
import { ApiError, type ErrorCode, serviceUnavailable } from "../http/problem";
import type { Caller } from "./caller";
import { isAcceptableSubject, SUBJECT_MAX_LENGTH, userIdOf } from "./subject";

// An explicit allow-list: a token cannot pick a weaker algorithm, or HS256 with a public key.
const ASYMMETRIC = ["RS256", "PS256", "ES256", "EdDSA"];

function unauthorized(code: ErrorCode, detail: string): ApiError {
  const description = detail.replaceAll('"', "'");
  const challenge =
    code === "MISSING_TOKEN"
      ? 'Bearer realm="todo-api"'
      : `Bearer realm="todo-api", error="invalid_token", error_description="${description}"`;
  return new ApiError(401, code, detail, undefined, { "www-authenticate": challenge });
}

export const missingToken = () => unauthorized("MISSING_TOKEN", "Send Authorization: Bearer <token> with a token from the auth server.");
export const tokenExpired = () => unauthorized("TOKEN_EXPIRED", "The token has expired; get a new one from the auth server.");
const missingSubject = () => unauthorized("MISSING_SUBJECT", "The token has no subject (sub) naming the user.");
export const keysUnavailable = () => serviceUnavailable("The auth server's keys cannot be fetched to verify the token; retry shortly.");

function explain(error: unknown, fetchesKeys: boolean): ApiError {
  if (error instanceof errors.JWTExpired) return tokenExpired();
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return unauthorized("WRONG_ISSUER", "The token was issued by an issuer this service does not trust.");
    if (error.claim === "aud") return unauthorized("WRONG_AUDIENCE", "The token is meant for another audience.");
    if (error.claim === "sub") return missingSubject();
    return unauthorized("INVALID_TOKEN", `The token's "${error.claim}" claim is not acceptable: ${error.message}.`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return unauthorized("INVALID_SIGNATURE", "The token's signature does not verify against the auth server's keys.");
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return unauthorized("INVALID_SIGNATURE", "The token is signed with an algorithm this service does not accept.");
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return unauthorized("MALFORMED_TOKEN", "The bearer token is not a well-formed signed JWT.");
  }
  // During a key rotation several keys may fit a token that names none.
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthorized("INVALID_TOKEN", "The token must name its signing key in the kid header.");
  }
  // Anything else while fetching the key set (a timeout, a refused connection, an answer other than
  // a JSON key set) is the auth server's trouble, not the caller's.
  if (fetchesKeys && (error instanceof errors.JOSEError || error instanceof TypeError)) {
    return keysUnavailable();
  }
  throw error;
}

/**
 * Whether the token's header and claims are JSON objects of a shape we accept: a member given twice
 * (jose, like JSON.parse, keeps the last; another verifier may take the first), or absurd nesting, is not.
 */
function hasWellFormedJson(token: string): boolean {
  return token.split(".", 2).every((part) => {
    const json = Buffer.from(part, "base64url").toString("utf8");
    try {
      JSON.parse(json);
    } catch {
      return false;
    }
    return jsonShapeProblem(json) === undefined;
  });
}

const TIME_CLAIMS = ["exp", "nbf", "iat"] as const;

/** Refuses time claims that are not finite (1e309 parses as Infinity and would never expire) and tokens that live too long. */
function checkLifetime(payload: JWTPayload, maxLifetimeS: number): void {
  for (const claim of TIME_CLAIMS) {
    const value = payload[claim];
    if (value !== undefined && !Number.isFinite(value)) {
      throw unauthorized("MALFORMED_TOKEN", `The token's "${claim}" claim must be a finite number of seconds.`);
    }
  }
  // From now at the latest: an iat in the future would otherwise stretch the lifetime past the cap.
  const start = Math.min(payload.iat ?? Number.POSITIVE_INFINITY, Date.now() / 1000);
  if ((payload.exp as number) - start > maxLifetimeS) {
    throw unauthorized(
      "INVALID_TOKEN",
      `The token lives longer than the ${maxLifetimeS} s this service accepts; ask for a shorter-lived one.`,
    );
  }
}

export function bearerCallerResolver(auth: Exclude<AuthConfig, { mode: "header" }>): (headers: Headers) => Promise<Caller> {
  const key: JWTVerifyGetKey | Uint8Array =
    auth.mode === "jwks"
      ? createRemoteJWKSet(auth.jwksUrl, { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 3000 })
      : auth.secret;
  const options = {
    issuer: auth.issuer,
    audience: auth.audience,
    algorithms: auth.mode === "jwks" ? ASYMMETRIC : ["HS256"],
    requiredClaims: ["sub", "exp"],
    clockTolerance: 30,
  };
  return async (headers) => {
    const header = headers.get("authorization");
    if (!header) throw missingToken();
    const [scheme, token, ...rest] = header.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== "bearer" || !token || rest.length > 0) {
      throw unauthorized("MALFORMED_TOKEN", "The Authorization header must be exactly: Bearer <token>.");
    }
    if (!hasWellFormedJson(token)) {
      throw unauthorized("MALFORMED_TOKEN", "The token's header and claims must be JSON, each member given once, not nested deep.");
    }
    let payload: JWTPayload;
    try {
      // jose's overloads differ for a key set and a secret; both are valid here.
      ({ payload } = await jwtVerify(token, key as Uint8Array, options));
    } catch (error) {
      throw explain(error, auth.mode === "jwks");
    }
    checkLifetime(payload, auth.maxLifetimeS);
    const { sub, iss = "" } = payload;
    // The issuer is half of the user's name (auth/subject.ts): ["x"] must not name the user "x" does.
    if (typeof iss !== "string") throw unauthorized("MALFORMED_TOKEN", "The token's issuer (iss) must be a string.");
    if (sub === "") throw missingSubject();
    if (typeof sub !== "string" || !isAcceptableSubject(sub)) {
      throw unauthorized(
        "INVALID_SUBJECT",
        `The token's subject (sub) must be a string of 1 to ${SUBJECT_MAX_LENGTH} characters, with no control characters or unpaired surrogates.`,
      );
    }
    const text = (claim: unknown) => (typeof claim === "string" ? claim : null);
    // exp is required, and checked finite by checkLifetime.
    const expiresAt = (payload.exp as number) * 1000;
    return { userId: userIdOf(iss, sub), subject: sub, email: text(payload.email), name: text(payload.name), expiresAt };
  };
}
