// SIGTERM while requests are in flight: they complete, then the process exits 0.
import { expect, test } from "bun:test";

async function startService() {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = Bun.spawn(["bun", "src/index.ts"], {
    env: { ...process.env, PORT: String(port), PGLITE_DATA_DIR: "memory://", DATABASE_URL: "", NEON_DATABASE_URL: "", LOG_LEVEL: "info" },
    stdout: "pipe",
    stderr: "inherit",
  });
  for (let i = 0; i < 200; i++) {
    await Bun.sleep(100);
    if ((await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.ok) return { child, port };
  }
  child.kill();
  throw new Error("the service did not become ready");
}

/** A POST whose body arrives in two halves, so the request is in flight for as long as we like. */
async function slowPost(port: number) {
  const body = JSON.stringify({ title: "sent across a shutdown" });
  let received = "";
  let resolveClosed: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, chunk) => {
        received += chunk.toString();
      },
      close: () => resolveClosed(),
    },
  });
  socket.write(
    `POST /api/v1/todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-User-Id: ${crypto.randomUUID()}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
  );
  return {
    finish: async () => {
      socket.write(body.slice(10));
      await closed;
      return received;
    },
  };
}

test("SIGTERM lets in-flight requests finish, refuses new ones, and exits 0", async () => {
  const { child, port } = await startService();
  const inFlight = await Promise.all([slowPost(port), slowPost(port), slowPost(port)]);
  await Bun.sleep(100);
  child.kill("SIGTERM");
  await Bun.sleep(300);
  const responses = await Promise.all(inFlight.map((request) => request.finish()));
  for (const response of responses) {
    expect(response).toStartWith("HTTP/1.1 201");
    expect(response).toContain("sent across a shutdown");
  }
  expect(await child.exited).toBe(0);
  const logs = await new Response(child.stdout).text();
  expect(logs).toContain('"msg":"shutting down: finishing in-flight requests"');
  expect(logs).toContain('"msg":"stopped"');
  expect(await fetch(`http://127.0.0.1:${port}/health`).catch(() => "refused")).toBe("refused");
}, 60_000);
