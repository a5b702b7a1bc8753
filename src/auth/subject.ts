// Which user id a token's subject names. todos.user_id is a UUID, but auth servers name users as
// they like (Better Auth: "80Q34goRVS0ov7WXbOiSl3dsbDlPuRdy"), so every subject, a UUID one too,
// names a name-based UUID (RFC 9562, version 5) over issuer and subject, exactly as sent: so no
// subject can equal another user's id, and, JWT subjects being case-sensitive (RFC 7519), none is
// lower-cased.
// It is computed, not stored: every instance derives the same id, with no lookup and no table.
import { randomUUIDv5 } from "bun";
import { CONTROL } from "../http/validation";

// Fixed forever: changing it would hand every user an empty list.
const SUBJECT_NAMESPACE = "7ccf9636-44b5-4916-bc33-324dfe271023";

export const SUBJECT_MAX_LENGTH = 255;

/** 1 to SUBJECT_MAX_LENGTH characters, no control characters, no unpaired surrogates (two would hash alike). */
export const isAcceptableSubject = (subject: string) =>
  subject.length >= 1 && subject.length <= SUBJECT_MAX_LENGTH && subject.isWellFormed() && !CONTROL.test(subject);

/** The user id for an acceptable subject. A subject has no line break, so the name is unambiguous. */
export const userIdOf = (issuer: string, subject: string): string => randomUUIDv5(`${issuer}\n${subject}`, SUBJECT_NAMESPACE);
