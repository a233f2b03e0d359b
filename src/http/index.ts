/**
 * Cross-cutting HTTP behaviour, applied once to the whole app: one JSON error
 * shape, a 1 MiB body limit (413), and security headers on every response.
 */
import { Elysia } from "elysia";
import { errorJson, toErrorResponse } from "./errors";

export const MAX_BODY_BYTES = 1024 * 1024;

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** HSTS only when we are served over https (a plain-http dev set-up must stay reachable). */
export function securityHeaders(publicUrl: string): Record<string, string> {
  return publicUrl.startsWith("https://")
    ? { ...SECURITY_HEADERS, "strict-transport-security": "max-age=31536000; includeSubDomains" }
    : SECURITY_HEADERS;
}

export const httpPlugin = (publicUrl: string) => {
  const headers = securityHeaders(publicUrl);
  return new Elysia({ name: "http", seed: publicUrl })
  .onRequest(({ request, set }) => {
    Object.assign(set.headers, headers);
    const len = Number(request.headers.get("content-length") ?? "0");
    if (len > MAX_BODY_BYTES) return errorJson(413, "body_too_large", `request body is over ${MAX_BODY_BYTES} bytes`);
  })
  .onError({ as: "global" }, ({ code, error }) => {
    const res = toErrorResponse(code, error);
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
    return res;
  })
  .as("global");
};
