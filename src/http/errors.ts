/**
 * The few error types the API raises. Each carries its HTTP status and a
 * stable code; `toErrorResponse` is the single place they become
 * {"error":{"code","message"}}.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
export class BadRequest extends ApiError {
  constructor(message: string, code = "bad_request") {
    super(400, code, message);
  }
}
export class Unauthorized extends ApiError {
  constructor(message = "missing or invalid credentials") {
    super(401, "unauthorized", message);
  }
}
export class Forbidden extends ApiError {
  constructor(message = "not allowed") {
    super(403, "forbidden", message);
  }
}
/** Also what another user's resource looks like: never confirm it exists. */
export class NotFound extends ApiError {
  constructor(what = "resource") {
    super(404, "not_found", `${what} not found`);
  }
}
export class Conflict extends ApiError {
  constructor(message: string, code = "conflict") {
    super(409, code, message);
  }
}
export class Unprocessable extends ApiError {
  constructor(message: string, code = "unprocessable") {
    super(422, code, message);
  }
}

export function errorJson(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

/** Maps anything thrown in a route (ours or Elysia's) to one JSON error shape. */
export function toErrorResponse(code: string | number, error: unknown): Response {
  if (error instanceof ApiError) {
    const res = errorJson(error.status, error.code, error.message);
    const retry = (error as { retryAfterS?: number }).retryAfterS;
    if (retry !== undefined) res.headers.set("retry-after", String(retry));
    return res;
  }
  const e = error as { all?: { path?: string; message?: string; summary?: string }[]; type?: string; on?: string };
  switch (code) {
    case "VALIDATION": {
      const first = e.all?.[0];
      const where = (e as { type?: string; on?: string }).on ?? "body";
      const field = first?.path && first.path !== "root" ? first.path.replace(/^\//, "").replace(/\//g, ".") : null;
      const message = field
        ? `${field}: ${first?.message ?? "invalid"}`
        : `${where}: ${first?.message ?? "invalid"}`;
      return errorJson(400, "invalid_input", message);
    }
    case "PARSE":
      return errorJson(400, "malformed_body", "request body is not valid JSON");
    case "NOT_FOUND":
      return errorJson(404, "not_found", "no such route");
    case "INVALID_COOKIE_SIGNATURE":
      return errorJson(401, "unauthorized", "invalid cookie");
    default: {
      const status = (error as { status?: number }).status;
      if (typeof status === "number" && status >= 400 && status < 500)
        return errorJson(status, "bad_request", (error as Error).message || "bad request");
      console.error("[api] unexpected error:", error);
      return errorJson(500, "internal", "internal error");
    }
  }
}
