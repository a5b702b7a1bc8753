// SIGTERM while requests are in flight: they complete, then the process exits 0.
import { expect, test } from "bun:test";
import { startService } from "./support/service";

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

test("SIGTERM lets in-flight requests finish, refuses new ones meanwhile, and exits 0", async () => {
  const service = await startService({ PGLITE_DATA_DIR: "memory://" });
  await service.ready();
  const port = Number(new URL(service.base).port);
  const inFlight = await Promise.all([slowPost(port), slowPost(port), slowPost(port)]);
  await Bun.sleep(100);
  service.child.kill("SIGTERM");
  await Bun.sleep(300);
  // Still draining (three bodies are half sent), and already closed to newcomers.
  expect(service.child.exitCode).toBeNull();
  expect(await fetch(`${service.base}/health`).catch(() => "refused")).toBe("refused");
  const responses = await Promise.all(inFlight.map((request) => request.finish()));
  for (const response of responses) {
    expect(response).toStartWith("HTTP/1.1 201");
    expect(response).toContain("sent across a shutdown");
  }
  expect(await service.child.exited).toBe(0);
  expect(service.output()).toContain('"msg":"shutting down: finishing in-flight requests"');
  expect(service.output()).toContain('"msg":"stopped"');
}, 60_000);
