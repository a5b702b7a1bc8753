// Stands in for Neon's WebSocket proxy, so the real @neondatabase/serverless driver can run
// against an ordinary Postgres: each ws:// connection is piped, byte for byte, to the TCP
// address in its `?address=host:port`.
import type { ServerWebSocket, Socket } from "bun";

export type NeonRelay = {
  /** The value for NEON_WS_PROXY, e.g. "127.0.0.1:41234/v2" (no scheme: the driver adds ws://). */
  proxy: string;
  port: number;
  /** Closes every open connection, both sides: Neon dropping connections. */
  cut(): void;
  /** Refuses new connections and cuts the open ones: the database is unreachable. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
};

type Link = { hostname: string; port: number; tcp?: Socket; pending: Uint8Array };

export function startNeonRelay(options: { port?: number } = {}): NeonRelay {
  const open = new Set<ServerWebSocket<Link>>();
  let paused = false;

  // Bun's TCP write does not queue what the kernel refused, and frames can arrive before connect.
  const flush = (link: Link) => {
    if (!link.tcp || link.pending.length === 0) return;
    link.pending = link.pending.subarray(Math.max(link.tcp.write(link.pending), 0));
  };
  const cut = () => {
    for (const ws of open) {
      ws.data.tcp?.terminate();
      ws.close(1001, "relay cut");
    }
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    fetch(request, server) {
      const address = new URL(request.url).searchParams.get("address") ?? "";
      const colon = address.lastIndexOf(":");
      const link: Link = { hostname: address.slice(0, colon), port: Number(address.slice(colon + 1)), pending: new Uint8Array(0) };
      if (paused) return new Response("relay paused", { status: 503 });
      if (colon < 1 || !Number.isInteger(link.port)) return new Response("expected ?address=host:port", { status: 400 });
      return server.upgrade(request, { data: link }) ? undefined : new Response("expected a WebSocket upgrade", { status: 426 });
    },
    websocket: {
      data: {} as Link,
      // A pooled connection may sit idle for long; only cut(), pause() and stop() should drop it.
      idleTimeout: 0,
      // Dropping a frame would corrupt the Postgres stream; failing the connection is honest.
      closeOnBackpressureLimit: true,
      open(ws) {
        open.add(ws);
        Bun.connect({
          hostname: ws.data.hostname,
          port: ws.data.port,
          socket: {
            open(tcp) {
              if (!open.has(ws)) return void tcp.end();
              ws.data.tcp = tcp;
              flush(ws.data);
            },
            data: (_tcp, chunk) => void ws.sendBinary(chunk),
            drain: () => flush(ws.data),
            close: () => ws.close(),
            connectError: () => ws.close(1011, "cannot reach the database"),
          },
        });
      },
      message(ws, message) {
        ws.data.pending = Buffer.concat([ws.data.pending, typeof message === "string" ? Buffer.from(message) : message]);
        flush(ws.data);
      },
      close(ws) {
        open.delete(ws);
        flush(ws.data);
        ws.data.tcp?.end();
      },
    },
  });

  const port = server.port ?? 0;
  return {
    proxy: `127.0.0.1:${port}/v2`,
    port,
    cut,
    pause() {
      paused = true;
      cut();
    },
    resume() {
      paused = false;
    },
    async stop() {
      cut();
      await server.stop(true);
    },
  };
}
