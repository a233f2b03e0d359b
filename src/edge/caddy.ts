/**
 * A small client of Caddy's admin API (https://caddyserver.com/docs/api):
 * read the running config, and change parts of it by config path or by @id.
 * Every change makes Caddy load the new config before it answers, so once a
 * call returns the change is live. Requests time out, so a hung Caddy can't
 * hold up route changes forever.
 */

export type AdminOp = { method: "POST" | "PUT" | "PATCH" | "DELETE"; path: string; body?: unknown; why: string };

export class CaddyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 10_000;

export class CaddyAdmin {
  private readonly base: string;
  constructor(adminUrl: string) {
    this.base = adminUrl.replace(/\/+$/, "");
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      // A new connection per call: Caddy may close idle ones when it loads a
      // config, and a change sent on such a connection can't safely be retried.
      res = await fetch(this.base + path, {
        method,
        keepalive: false,
        headers: { connection: "close", ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw new CaddyError(0, `Caddy admin API at ${this.base} unreachable: ${e instanceof Error ? e.message : String(e)}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let msg = text.trim();
      try {
        msg = (JSON.parse(text) as { error?: string }).error ?? msg;
      } catch {}
      throw new CaddyError(res.status, `${method} ${path}: ${res.status} ${msg.slice(0, 500)}`);
    }
    if (!text.trim()) return null;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** The whole running config (null when Caddy runs without one). */
  config(): Promise<unknown> {
    return this.call("GET", "/config/");
  }

  apply(op: AdminOp): Promise<unknown> {
    return this.call(op.method, op.path, op.body);
  }
}

/** A config path segment as Caddy's admin API reads it. */
export const seg = (s: string) => encodeURIComponent(s);
