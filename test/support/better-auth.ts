// A real Better Auth server in the test process, as a front end's stack would run it: its
// in-memory database, email-and-password sign-up, the jwt() plugin, on a free local port.
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { type JwtOptions, jwt } from "better-auth/plugins";

export type BetterAuthUser = { id: string; token(): Promise<string> };

export type BetterAuthServer = {
  /** Better Auth's base URL: the issuer and audience of its tokens. */
  baseURL: string;
  jwksUrl: string;
  signUp(): Promise<BetterAuthUser>;
  stop(): Promise<void>;
};

/** `baseURL` lets a second instance claim the first one's URL, as an impostor would. */
export async function startBetterAuth(options: { baseURL?: string; jwt?: JwtOptions } = {}): Promise<BetterAuthServer> {
  let handler: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request) });
  const url = `http://127.0.0.1:${server.port}`;
  const baseURL = options.baseURL ?? url;
  const auth = betterAuth({
    baseURL,
    secret: `${crypto.randomUUID()}${crypto.randomUUID()}`,
    database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
    emailAndPassword: { enabled: true },
    plugins: [jwt(options.jwt)],
    telemetry: { enabled: false },
    logger: { level: "error" },
  });
  handler = auth.handler;

  async function signUp(): Promise<BetterAuthUser> {
    const email = `${crypto.randomUUID()}@example.com`;
    const response = await fetch(`${url}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: baseURL },
      body: JSON.stringify({ email, password: "correct horse battery", name: "Test User" }),
    });
    if (!response.ok) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
    const { user } = (await response.json()) as { user: { id: string } };
    // The session cookie, as the browser would keep it.
    const cookie = response.headers
      .getSetCookie()
      .map((line) => line.split(";")[0])
      .join("; ");
    return {
      id: user.id,
      // What authClient.token() calls.
      async token() {
        const answer = await fetch(`${url}/api/auth/token`, { headers: { cookie } });
        if (!answer.ok) throw new Error(`/api/auth/token failed: ${answer.status} ${await answer.text()}`);
        return ((await answer.json()) as { token: string }).token;
      },
    };
  }

  return { baseURL, jwksUrl: `${url}/api/auth/jwks`, signUp, stop: () => server.stop(true) };
}
