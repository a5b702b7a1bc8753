// Where a port is bound, asked of the kernel rather than of the service's own log line: a log line
// says what the service meant to do, the socket table what it did.
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";

/** "0100007F" (one 32-bit word as /proc/net writes it, in host byte order) as its four bytes in network order. */
const wordBytes = (word: string) => (word.match(/../g) ?? []).map((byte) => Number.parseInt(byte, 16)).reverse();

function decodeAddress(hex: string): string {
  if (hex.length === 8) return wordBytes(hex).join(".");
  const groups: string[] = [];
  for (const word of hex.match(/.{8}/g) ?? []) {
    const [a = 0, b = 0, c = 0, d = 0] = wordBytes(word);
    groups.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  // Written out in full ("0:0:0:0:0:0:0:1"), then compressed the usual way ("::1") by URL's serializer.
  return new URL(`http://[${groups.join(":")}]`).hostname.slice(1, -1);
}

/**
 * The local addresses of the sockets listening (state 0A) on this TCP port, from /proc/net/tcp and
 * /proc/net/tcp6: "127.0.0.1", "0.0.0.0", "::" and so on. Undefined where there is no /proc/net (not Linux).
 */
export function listeningAddresses(port: number): string[] | undefined {
  // tcp6 is missing where IPv6 is turned off; tcp alone is enough to read there.
  const tables = ["/proc/net/tcp", "/proc/net/tcp6"].filter((table) => existsSync(table));
  if (tables.length === 0) return undefined;
  const addresses: string[] = [];
  for (const table of tables) {
    // node:fs, not Bun.file: after Bun.file(...).exists(), Bun 1.4.5 reads a /proc file (size 0) as empty.
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, hexPort] = local?.split(":") ?? [];
      if (state === "0A" && address && hexPort && Number.parseInt(hexPort, 16) === port) addresses.push(decodeAddress(address));
    }
  }
  return addresses;
}

/** An IPv4 address of this machine that is not loopback; undefined on a machine with none. */
export function nonLoopbackIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((address) => address?.family === "IPv4" && !address.internal)?.address;
}

/** What a TCP connection to host:port meets: "accepted", the error's code (ECONNREFUSED when nothing listens there), or "timeout". */
export function tryConnect(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve("accepted");
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
