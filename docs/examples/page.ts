// docs/examples/page.ts: a page on https://app.example.com signing in with the auth server on another
// origin, then calling the API on a third with the token it hands out.
import { createAuthClient } from "better-auth/client";
import { jwtClient } from "better-auth/client/plugins";

export async function signInAndList({
  authUrl,
  apiUrl,
  email,
  password,
}: {
  authUrl: string;
  apiUrl: string;
  email: string;
  password: string;
}) {
  // baseURL: the auth server is not the page's origin. The client sends its cookie along (credentials: include).
  const authClient = createAuthClient({ baseURL: authUrl, plugins: [jwtClient()] });
  const signedUp = await authClient.signUp.email({ email, password, name: email });
  if (signedUp.error) await authClient.signIn.email({ email, password });
  // A JWT for the API, good for 15 minutes: on 401 TOKEN_EXPIRED, ask for a new one.
  const { data, error } = await authClient.token();
  if (error || !data) throw new Error(`no token: ${error?.message}`);
  const headers = { authorization: `Bearer ${data.token}`, "content-type": "application/json" };
  const created = await fetch(`${apiUrl}/api/v1/todos`, { method: "POST", headers, body: JSON.stringify({ title: "Buy milk" }) });
  const listed = await fetch(`${apiUrl}/api/v1/todos`, { headers });
  return { created: created.status, location: created.headers.get("location"), todos: await listed.json() };
}
