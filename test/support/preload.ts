// Runs once before the suite: one migrated database shared by all test files.
import { afterAll } from "bun:test";
import { createTestDatabase, testDriver } from "./database";

const shared = await createTestDatabase();
(globalThis as { __todoTestDatabase?: typeof shared }).__todoTestDatabase = shared;
console.log(
  `test database: ${testDriver}${process.env.TEST_DATABASE_URL ? ` (${new URL(process.env.TEST_DATABASE_URL).host})` : " (embedded, in memory)"}`,
);

afterAll(() => shared.drop());
