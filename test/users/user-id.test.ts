// The subject → user id mapping: stable, distinct, and the same in every process.
import { expect, test } from "bun:test";
import { userIdOf } from "../../src/users/user-id";

const issuer = "https://auth.example.com";

test("a non-UUID subject maps to an RFC 9562 version 5 UUID", () => {
  expect(userIdOf(issuer, "80Q34goRVS0ov7WXbOiSl3dsbDlPuRdy")).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
});

test("issuer and subject cannot be shifted into one another", () => {
  expect(userIdOf("https://a.example", "b")).not.toBe(userIdOf("https://a.exampl", "eb"));
});

test("another process, as after a restart or on another instance, derives the same id", async () => {
  const subject = `user-${crypto.randomUUID()}`;
  const script = `import { userIdOf } from "./src/users/user-id"; console.log(userIdOf(${JSON.stringify(issuer)}, ${JSON.stringify(subject)}));`;
  const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe" });
  expect((await new Response(child.stdout).text()).trim()).toBe(userIdOf(issuer, subject));
});
