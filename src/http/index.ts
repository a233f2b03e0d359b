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

export const httpPlugin = new Elysia({ name: "http" })
  .onRequest(({ request, set }) => {
    Object.assign(set.headers, SECURITY_HEADERS);
    const len = Number(request.headers.get("content-length") ?? "0");
    if (len > MAX_BODY_BYTES) return errorJson(413, "body_too_large", `request body is over ${MAX_BODY_BYTES} bytes`);
  })
  .onError({ as: "global" }, ({ code, error }) => {
    const res = toErrorResponse(code, error);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
    return res;
  })
  .as("global");
