// Which user id a token's subject names. todos.user_id is a UUID, but auth servers name users
// as they like (Better Auth: "80Q34goRVS0ov7WXbOiSl3dsbDlPuRdy"): a UUID subject is the user id
// itself, any other subject is a name-based UUID (RFC 9562, version 5) over issuer and subject.
// It is computed, not stored: every instance derives the same id, with no lookup and no table.
import { randomUUIDv5 } from "bun";
import { isUuid } from "../uuid";

// Fixed forever: changing it would hand every user named by a non-UUID subject an empty list.
const SUBJECT_NAMESPACE = "7ccf9636-44b5-4916-bc33-324dfe271023";

const CONTROL = /\p{Cc}/u;

/** 1 to 255 characters, no control characters, no unpaired surrogates (two would hash alike). */
export const isAcceptableSubject = (subject: string) =>
  subject.length >= 1 && subject.length <= 255 && subject.isWellFormed() && !CONTROL.test(subject);

/** The user id for an acceptable subject. A subject has no line break, so the name is unambiguous. */
export const userIdOf = (issuer: string, subject: string): string =>
  isUuid(subject) ? subject.toLowerCase() : randomUUIDv5(`${issuer}\n${subject}`, SUBJECT_NAMESPACE);
