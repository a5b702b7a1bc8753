// docs/examples/auth-server.ts: Better Auth on an origin of its own (https://auth.example.com), signing in
// pages of another (https://app.example.com) that then call the API with its tokens.
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";

export function authServer({
  baseURL,
  appOrigin,
  database,
}: {
  baseURL: string;
  appOrigin: string;
  database: BetterAuthOptions["database"];
}) {
  const auth = betterAuth({
    // Its own URL: the issuer and audience of every token (AUTH_ISSUER and AUTH_AUDIENCE of the API).
    baseURL,
    // The page's origin: Better Auth refuses sign-ins from any origin it does not trust.
    trustedOrigins: [appOrigin],
    database,
    emailAndPassword: { enabled: true },
    plugins: [jwt()],
  });
  // Better Auth answers no CORS of its own. The page sends its session cookie (credentials), so the
  // origin must be named exactly, never "*", and credentials allowed.
  const cors = { "access-control-allow-origin": appOrigin, "access-control-allow-credentials": "true", vary: "Origin" };
  return async function handle(request: Request): Promise<Response> {
    if (request.method === "OPTIONS") {
      const preflight = {
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "600",
      };
      return new Response(null, { status: 204, headers: { ...cors, ...preflight } });
    }
    const response = await auth.handler(request);
    for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    return response;
  };
}
