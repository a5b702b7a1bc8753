// JSON from callers (request bodies, and the header and claims of a bearer token, read before its
// signature is checked) is scanned for its shape. No text may stall that scan: one that never ended
// froze the whole service on `Authorization: Bearer eyI.e30.x`.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { jsonShapeProblem } from "../../src/http/json-body";
import { ISSUER, startAuthServer } from "../support/jwks";
import { startService } from "../support/service";

const base64url = (text: string) => Buffer.from(text).toString("base64url");

// An object's members as written: keys may repeat, and may be spelt with escapes ("t\u0069tle" is "title").
const spelling = (key: string) =>
  fc.constantFrom(
    JSON.stringify(key),
    JSON.stringify(key).replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
  );
const key = fc.constantFrom("title", "description", "a", "b", "é", "x y");
const member = key.chain((name) => fc.tuple(fc.constant(name), spelling(name), fc.jsonValue({ maxDepth: 2 })));
const objectText = fc.array(member, { maxLength: 6 }).map((members) => ({
  text: `{${members.map(([, spelt, value]) => `${spelt}: ${JSON.stringify(value)}`).join(",")}}`,
  duplicated: new Set(members.map(([name]) => name)).size < members.length,
}));

describe("the JSON shape scan", () => {
  test("finds a key given twice in an object exactly when there is one, whatever its spelling", () => {
    fc.assert(
      fc.property(objectText, ({ text, duplicated }) => {
        expect(jsonShapeProblem(text) !== undefined).toBe(duplicated);
      }),
      { numRuns: 2000 },
    );
  });

  test("ends on any text, JSON or not, whole or cut short anywhere, and never throws", () => {
    const jsonText = fc.jsonValue().map((value) => JSON.stringify(value));
    const cutShort = fc
      .tuple(
        fc.oneof(
          jsonText,
          objectText.map((object) => object.text),
        ),
        fc.nat(),
      )
      .map(([text, at]) => text.slice(0, at % (text.length + 1)));
    const anyText = fc.oneof(
      cutShort,
      fc.string({ unit: "binary" }),
      fc.string({ unit: fc.constantFrom('"', "\\", "{", "[", ":", " ", "a", "}") }),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        const problem = jsonShapeProblem(text);
        expect(problem === undefined || typeof problem === "string").toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  test("a long unterminated string full of escaped quotes is scanned to its end", () => {
    expect(jsonShapeProblem(`{"${'\\"'.repeat(100_000)}\\`)).toBeUndefined();
    expect(jsonShapeProblem(`{"a":1,"a"${" ".repeat(100_000)}`)).toBeUndefined();
  });
});

// In a process of its own: a scan that never ends would block that process's event loop, and this
// test would see no answer within its time-out instead of hanging with it.
describe("tokens whose header or claims are cut-short JSON", () => {
  const cutShort = {
    'header {"': `eyI.${base64url("{}")}.x`,
    'claims {"a': `${base64url("{}")}.eyJh.x`,
    "header not JSON": `${base64url("{'alg':'RS256'}")}.${base64url("{}")}.x`,
    "claims with a key twice": `${base64url('{"alg":"RS256"}')}.${base64url('{"sub":"a","sub":"b"}')}.x`,
  };
  const authServer = startAuthServer();
  afterAll(async () => (await authServer).stop());
  const modes = {
    secret: async () => ({ AUTH_JWT_SECRET: "a-secret-of-at-least-thirty-two-bytes!!" }),
    jwks: async () => ({ AUTH_JWKS_URL: (await authServer).jwksUrl, AUTH_ISSUER: ISSUER }),
  };

  test.each(Object.keys(modes) as (keyof typeof modes)[])(
    "in %s mode are 401 MALFORMED_TOKEN, and the service goes on",
    async (mode) => {
      const service = await startService({ PGLITE_DATA_DIR: "memory://", ...(await modes[mode]()) });
      try {
        for (const [name, token] of Object.entries(cutShort)) {
          const reply = await fetch(`${service.base}/api/v1/todos`, {
            headers: { authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(5000),
          });
          expect({ name, status: reply.status, code: ((await reply.json()) as { error_code: string }).error_code }).toEqual({
            name,
            status: 401,
            code: "MALFORMED_TOKEN",
          });
        }
        expect((await fetch(`${service.base}/health`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
        expect(await service.stop()).toBe(0);
      } finally {
        service.child.kill("SIGKILL");
      }
    },
    60_000,
  );
});
