// If-Match and If-None-Match as RFC 9110 reads them (§8.8.3 entity tags, §13.1.1, §13.1.2, §5.6.1
// lists): what each header names for a todo at version 5, and that no text, however long or broken,
// gets anything but a 400 out of them.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { clientHasCurrent, etagOf, ifMatchVersions } from "../../src/http/preconditions";
import { ApiError } from "../../src/http/problem";

const id = "0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1b7c90";
const otherId = "9d1e4a7b-3c2f-4b8e-a5d6-7f0c1e2b3a49";
const current = etagOf(id, 5);
const tagOf = (version: string) => `"${id}.${version}"`;

/** What If-Match asks of the change: unconditional, the versions it names (in order), or a 400. */
function ifMatchOutcome(header: string | undefined, todoId = id): number[] | "unconditional" | 400 {
  try {
    const versions = ifMatchVersions(header, todoId);
    return versions === undefined ? "unconditional" : versions.toSorted((a, b) => a - b);
  } catch (error) {
    if (error instanceof ApiError) return error.status as 400;
    throw error;
  }
}

const longEnough = (unit: string) => unit.repeat(Math.ceil(100_000 / unit.length));

// [case, header, If-Match on the todo at version 5, If-None-Match matches its current ETag]
const rows: [string, string | undefined, number[] | "unconditional" | 400, boolean][] = [
  ["no header", undefined, "unconditional", false],
  ["*", "*", "unconditional", true],
  ["* with spaces around", " * ", "unconditional", true],
  ["* with tabs around", "\t*\t", "unconditional", true],
  ["the exact tag", current, [5], true],
  ["the exact tag with spaces around", `  ${current}  `, [5], true],
  ["the weak tag (W/)", `W/${current}`, [], true],
  ["a lower-case weak prefix (w/)", `w/${current}`, 400, false],
  ["a space between W/ and the tag", `W/ ${current}`, 400, false],
  ["text around a tag", `zz${current}zz`, 400, false],
  ["text after a tag", `${current}zz`, 400, false],
  ["an unquoted tag", `${id}.5`, 400, false],
  ["two tags, the current one second", `${tagOf("4")}, ${current}`, [4, 5], true],
  ["two tags, the current one first", `${current}, ${tagOf("999")}`, [5, 999], true],
  ["the same tag twice", `${current}, ${current}`, [5], true],
  ["a weak and a strong tag of the same version", `W/${current}, ${current}`, [5], true],
  ["empty list elements", `, ${tagOf("4")} ,, ${current},`, [4, 5], true],
  ["empty elements around tags of others", `"a", , "b"`, [], false],
  ["only a comma", ",", [], false],
  ["tabs around the commas", `${tagOf("4")}\t,\t${current}`, [4, 5], true],
  ["a comma inside a tag", `"a,b", ${current}`, [5], true],
  ["a comma inside a tag that starts like ours", `"${id}.5,6"`, [], false],
  ["a quote inside a tag", `"a"b", ${current}`, 400, false],
  ["a space inside a tag", `"${id} 5"`, 400, false],
  ["obs-text inside a tag", `"café", ${current}`, [5], true],
  ["a character past obs-text inside a tag", `"cafĕ", ${current}`, 400, false],
  ["a control character inside a tag", `"a\u0001b"`, 400, false],
  ["another todo's tag", etagOf(otherId, 5), [], false],
  ["the id in upper case", `"${id.toUpperCase()}.5"`, [], false],
  ["an older version", tagOf("4"), [4], false],
  ["version 0", tagOf("0"), [], false],
  ["version 01", tagOf("01"), [], false],
  ["version 05", tagOf("05"), [], false],
  ["the highest version", tagOf("2147483647"), [2147483647], false],
  ["version 2147483648", tagOf("2147483648"), [], false],
  ["version -1", tagOf("-1"), [], false],
  ["version 1e3", tagOf("1e3"), [], false],
  ["version 5.0", tagOf("5.0"), [], false],
  ["no version", tagOf(""), [], false],
  ["the empty tag", '""', [], false],
  ["an unterminated quote", `"${id}.5`, 400, false],
  ["a lone quote", '"', 400, false],
  ["an empty header", "", [], false],
  ["a header of spaces", "   ", [], false],
  ["* and a tag", `*, ${current}`, 400, false],
  ["a tag and *", `${current}, *`, 400, false],
  ["* and an empty element", "*,", 400, false],
  ["two stars", "**", 400, false],
  ["a tag then junk", `${current}, zz`, 400, false],
  ["100 KB of spaces", longEnough(" "), [], false],
  ["100 KB of spaces then junk", `${longEnough(" ")}x`, 400, false],
  ["100 KB of spaces and tabs around *", `${longEnough(" \t")}*${longEnough("\t ")}`, "unconditional", true],
  ["100 KB of commas", longEnough(","), [], false],
  ["100 KB of empty elements then the tag", `${longEnough(" , ")}${current}`, [5], true],
  ["100 KB of tags of others then the tag", `${longEnough('"a,b", W/"c", ')}${current}`, [5], true],
  ["100 KB of the tag", longEnough(`${current},`), [5], true],
  ["100 KB inside an unterminated quote", `"${longEnough("a")}`, 400, false],
  ["100 KB of quoted tags then junk", `${longEnough('"a" ')}x`, 400, false],
  ["100 KB of W/", longEnough("W/"), 400, false],
  ["100 KB of quotes", longEnough('"'), 400, false],
];

describe("If-Match: the versions of this todo a change requires", () => {
  test.each(rows)("%s", (_case, header, ifMatch) => {
    expect(ifMatchOutcome(header)).toEqual(ifMatch);
  });

  test("every version a 100 KB list names is read", () => {
    const versions = Array.from({ length: 3_000 }, (_, i) => i + 1);
    const header = versions.map((version) => etagOf(id, version)).join(", ");
    expect(header.length).toBeGreaterThan(100_000);
    expect(ifMatchOutcome(header)).toEqual(versions);
  });

  test("the id in the path may be in upper case: the tags carry it in lower case", () => {
    expect(ifMatchOutcome(current, id.toUpperCase())).toEqual([5]);
  });

  test("a malformed header is a 400 that says what a valid one looks like", () => {
    let thrown: unknown;
    try {
      ifMatchVersions(`w/${current}`, id);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    const error = thrown as ApiError;
    expect(error.status).toBe(400);
    expect(error.code).toBe("VALIDATION_ERROR");
    expect(error.detail).toContain("double quotes");
    expect(error.fieldErrors).toEqual([{ field: "If-Match", code: "invalid_format", message: expect.stringContaining("*") }]);
  });
});

describe("If-None-Match: whether the client's copy is current", () => {
  test.each(rows)("%s", (_case, header, _ifMatch, ifNoneMatch) => {
    expect(clientHasCurrent(header, current)).toBe(ifNoneMatch);
  });
});

// ---- properties ----

// Characters a tag may hold (%x21 / %x23-7E / obs-text), the ones around and between tags, and a
// few it may not.
const etagc = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }).filter((code) => code !== 0x22),
  fc.integer({ min: 0x80, max: 0xff }),
);
const opaqueText = fc.string({ unit: etagc.map((code) => String.fromCharCode(code)), maxLength: 12 });

// Opaque tags with a known meaning for the todo at version 5 (its version, or none), and random ones,
// which name no version of it.
const known: [string, number | undefined][] = [
  [`${id}.5`, 5],
  [`${id}.6`, 6],
  [`${id}.2147483647`, 2147483647],
  [`${id}.0`, undefined],
  [`${id}.05`, undefined],
  [`${id}.5,6`, undefined],
  [`${id.toUpperCase()}.5`, undefined],
  [`${otherId}.5`, undefined],
];
const member = fc.oneof(
  fc.record({ weak: fc.boolean(), opaque: fc.constantFrom(...known.map(([opaque]) => opaque)) }),
  fc.record({ weak: fc.boolean(), opaque: opaqueText }),
  fc.constant(undefined),
);
const ows = fc.constantFrom("", " ", "\t", "  \t");
const wellFormedList = fc.array(fc.tuple(ows, member, ows), { maxLength: 8 }).map((members) => ({
  members,
  header: members.map(([before, tag, after]) => (tag ? `${before}${tag.weak ? "W/" : ""}"${tag.opaque}"${after}` : before)).join(","),
}));

const pieces = fc.constantFrom('"', "W/", "w/", ",", " ", "\t", "*", id, `${id}.`, ".", "5", "0", "a", "é", "ĕ", "\u0000", "\n", current);
const anyText = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({ unit: pieces }),
  fc.tuple(wellFormedList, fc.nat()).map(([{ header }, cut]) => header.slice(0, cut % (header.length + 1))),
);

describe("properties", () => {
  test("random and truncated text: If-Match answers or throws a 400, If-None-Match answers", () => {
    fc.assert(
      fc.property(anyText, (header) => {
        const outcome = ifMatchOutcome(header);
        expect(outcome === 400 || outcome === "unconditional" || Array.isArray(outcome)).toBe(true);
        expect(typeof clientHasCurrent(header, current)).toBe("boolean");
      }),
      { numRuns: 2_000 },
    );
  });

  test("a well-formed list names the versions of its strong tags of this todo, and is current if any tag is", () => {
    const versionOf = new Map(known);
    fc.assert(
      fc.property(wellFormedList, ({ members, header }) => {
        const tags = members.flatMap(([, tag]) => (tag ? [tag] : []));
        const strong = tags.filter((tag) => !tag.weak).map((tag) => versionOf.get(tag.opaque));
        const versions = [...new Set(strong.filter((version) => version !== undefined))].sort((a, b) => a - b);
        expect(ifMatchOutcome(header)).toEqual(versions);
        expect(clientHasCurrent(header, current)).toBe(tags.some((tag) => tag.opaque === `${id}.5`));
      }),
      { numRuns: 2_000 },
    );
  });
});
