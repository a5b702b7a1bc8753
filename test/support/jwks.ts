// A local auth server: real key pairs (RS256 and EdDSA) published as a JWKS, and a signer.
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export const ISSUER = "https://auth.test.local/";
export const AUDIENCE = "todo-api";

type Alg = "RS256" | "EdDSA";
/** `kid: null` leaves the key id out of the token. */
type SignOptions = { alg?: Alg; issuer?: string; audience?: string; expiresIn?: string | number; kid?: string | null; forge?: boolean };

export type AuthServer = {
  jwksUrl: string;
  /** How many times the key set was fetched: keys are cached, not fetched per request. */
  fetches(): number;
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  stop(): Promise<void>;
};

/** `rotating`: the key set also holds the next RS256 key, as it does during a key rotation. */
export async function startAuthServer({ rotating = false } = {}): Promise<AuthServer> {
  const keys = {
    RS256: await generateKeyPair("RS256", { extractable: true }),
    EdDSA: await generateKeyPair("EdDSA", { extractable: true }),
  };
  // Same kids, other private keys: what an attacker without the real keys would sign with.
  const forged = { RS256: await generateKeyPair("RS256"), EdDSA: await generateKeyPair("EdDSA") };
  const jwks = {
    keys: await Promise.all(
      (Object.keys(keys) as Alg[]).map(async (alg) => ({ ...(await exportJWK(keys[alg].publicKey)), kid: `${alg}-1`, alg, use: "sig" })),
    ),
  };
  if (rotating) {
    const next = await generateKeyPair("RS256", { extractable: true });
    jwks.keys.push({ ...(await exportJWK(next.publicKey)), kid: "RS256-2", alg: "RS256", use: "sig" });
  }
  let fetches = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      fetches++;
      return Response.json(jwks);
    },
  });
  return {
    jwksUrl: `http://127.0.0.1:${server.port}/.well-known/jwks.json`,
    fetches: () => fetches,
    async sign(claims, { alg = "RS256", issuer = ISSUER, audience = AUDIENCE, expiresIn = "5m", kid = `${alg}-1`, forge = false } = {}) {
      const jwt = new SignJWT(claims)
        .setProtectedHeader(kid === null ? { alg } : { alg, kid })
        .setIssuedAt()
        .setIssuer(issuer)
        .setAudience(audience);
      if (expiresIn !== 0) jwt.setExpirationTime(expiresIn);
      return jwt.sign((forge ? forged : keys)[alg].privateKey);
    },
    stop: () => server.stop(true),
  };
}
