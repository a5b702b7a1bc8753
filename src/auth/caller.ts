// Who is calling, as every route receives it, whichever scheme named them.

/** The caller: the user id the API stores, and the subject it was named by. */
export type Caller = { userId: string; subject: string };

/** Reads the caller from a request's headers, or throws the ApiError that says why it cannot. */
export type CallerResolver = (headers: Headers) => Caller | Promise<Caller>;
