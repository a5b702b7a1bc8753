// Runs once before the suite: one migrated database shared by all test files, its
// statements audited for user scoping.
import { afterAll } from "bun:test";
import { createTestDatabase, testDriver } from "./database";
import { audit, auditLogger } from "./query-audit";

const shared = await createTestDatabase({ logger: auditLogger });
(globalThis as { __todoTestDatabase?: typeof shared }).__todoTestDatabase = shared;
const where = process.env.TEST_DATABASE_URL ? new URL(process.env.TEST_DATABASE_URL).host : "embedded, in memory";
console.log(`test database: ${testDriver} (${where}); callers named by ${process.env.TEST_AUTH === "jwks" ? "bearer JWTs" : "X-User-Id"}`);

afterAll(async () => {
  await shared.drop();
  console.log(
    `query audit: ${audit.checked} statements from requests checked, ${audit.violations.length} unscoped` +
      ` (${audit.unaudited} statements from test setup, outside any request, not audited)`,
  );
  if (audit.violations.length > 0) {
    console.error(`query audit FAILED:\n${audit.violations.join("\n")}`);
    process.exitCode = 1;
  }
});
