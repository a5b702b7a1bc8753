// Who is calling, as every route receives it, whichever scheme named them.

/**
 * The caller: the user id the API stores, the subject it was named by, and, in bearer mode, the email
 * and name the token carries (null when it carries none).
 */
export type Caller = {
  userId: string;
  subject: string;
  email: string | null;
  name: string | null;
  /** When the bearer token stops being valid (ms since the epoch); null in header mode, which has no expiry. */
  expiresAt: number | null;
};

/** Reads the caller from a request's headers, or throws the ApiError that says why it cannot. */
export type CallerResolver = (headers: Headers) => Caller | Promise<Caller>;
