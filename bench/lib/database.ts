// The bench's own database on the server, created fresh and dropped at the end (its data: fixtures.ts).
import { SQL } from "bun";

export type BenchDatabase = { name: string; url: string; drop(): Promise<void> };

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = new SQL({ url: adminUrl, max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}

export async function postgresVersion(adminUrl: string): Promise<string> {
  const admin = new SQL({ url: adminUrl, max: 1 });
  try {
    const [row] = await admin`show server_version`;
    return String(row?.server_version ?? "unknown");
  } finally {
    await admin.close();
  }
}
