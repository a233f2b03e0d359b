/** Worker session tokens: HS256 JWTs, 15 minutes, keyed from the master key (purpose "worker-jwt"). */
import { SignJWT, jwtVerify } from "jose";
import { deriveKey } from "../crypto";

export const WORKER_TOKEN_TTL_S = 15 * 60;
const ISSUER = "wisehosting";
const AUDIENCE = "wisehosting-worker";

export async function signWorkerToken(masterKey: Buffer, workerId: string, now = Date.now()) {
  const iat = Math.floor(now / 1000);
  const exp = iat + WORKER_TOKEN_TTL_S;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(workerId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(deriveKey(masterKey, "worker-jwt"));
  return { token, expires_at: exp * 1000 };
}

/** Returns the worker id and expiry, or null for a bad, foreign or expired token. */
export async function verifyWorkerToken(masterKey: Buffer, token: string): Promise<{ workerId: string; expiresAt: number } | null> {
  try {
    const { payload } = await jwtVerify(token, deriveKey(masterKey, "worker-jwt"), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["HS256"],
      clockTolerance: 0,
    });
    if (!payload.sub || !payload.exp) return null;
    return { workerId: payload.sub, expiresAt: payload.exp * 1000 };
  } catch {
    return null;
  }
}
