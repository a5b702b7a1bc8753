// The subject → user id mapping: stable, distinct, one user per subject and one subject per user.
import { expect, test } from "bun:test";
import { userIdOf } from "../../src/auth/subject";

const issuer = "https://auth.example.com";
const VERSION_5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a non-UUID subject maps to an RFC 9562 version 5 UUID", () => {
  expect(userIdOf(issuer, "80Q34goRVS0ov7WXbOiSl3dsbDlPuRdy")).toMatch(VERSION_5);
});

// The namespace and the name's layout are fixed forever: this value must never change (Python's uuid.uuid5 agrees).
test("the mapping is the one every stored id was derived with", () => {
  expect(userIdOf(issuer, "80Q34goRVS0ov7WXbOiSl3dsbDlPuRdy")).toBe("6cb3aa76-6cce-5c66-8ce0-b0fe0f1d0c74");
  expect(userIdOf(issuer, "3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b")).toBe("b94d588d-b4c9-575c-bec7-9d44d05cb681");
});

test("a UUID subject maps to a derived id too, never to itself", () => {
  const subject = crypto.randomUUID();
  expect(userIdOf(issuer, subject)).toMatch(VERSION_5);
  expect(userIdOf(issuer, subject)).not.toBe(subject);
});

test("a subject that is another user's id names a user of its own", () => {
  const alice = userIdOf(issuer, "alice");
  expect(userIdOf(issuer, alice)).not.toBe(alice);
});

test("UUID subjects that differ only in case name different users", () => {
  const subject = crypto.randomUUID();
  expect(userIdOf(issuer, subject.toUpperCase())).not.toBe(userIdOf(issuer, subject));
});

test("issuer and subject cannot be shifted into one another", () => {
  expect(userIdOf("https://a.example", "b")).not.toBe(userIdOf("https://a.exampl", "eb"));
});

test("another process, as after a restart or on another instance, derives the same id", async () => {
  const subject = `user-${crypto.randomUUID()}`;
  const script = `import { userIdOf } from "./src/auth/subject"; console.log(userIdOf(${JSON.stringify(issuer)}, ${JSON.stringify(subject)}));`;
  const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe" });
  expect((await new Response(child.stdout).text()).trim()).toBe(userIdOf(issuer, subject));
});
