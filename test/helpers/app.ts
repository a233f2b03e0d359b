/**
 * The control plane in-process on a fresh database: the real app, hub and
 * events, with helpers to make users and tokens and to call the API.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../../src/app";
import { parseConfig } from "../../src/config";
import type { AppContext } from "../../src/context";
import { openDatabase, type Db } from "../../src/db";
import { migrate } from "../../src/db/migrations";
import { Events } from "../../src/events";
import { Hub } from "../../src/hub/service";
import { resolveSecrets } from "../../src/secrets";
import { createToken } from "../../src/tokens/service";
import { createUser } from "../../src/users/service";
import { freshDatabase } from "./db";

export type TestApp = Awaited<ReturnType<typeof startTestApp>>;

export async function startTestApp(env: Record<string, string> = {}) {
  const database = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), "wh-test-"));
  const { config } = resolveSecrets(
    parseConfig({
      WH_DATABASE_URL: database.url,
      WH_DATA_DIR: dataDir,
      WH_MASTER_KEY: randomBytes(32).toString("hex"),
      WH_WORKER_SECRET: "test-worker-secret-" + randomBytes(8).toString("hex"),
      ...env,
    }),
  );
  const db: Db = await openDatabase({ url: database.url, dataDir });
  await migrate(db.sql);
  const ctx: AppContext = { sql: db.sql, config, events: new Events(), hub: new Hub() };
  const app = buildApp(ctx);

  async function userWithToken(email: string, role: "admin" | "member" = "member", scope: "read" | "write" | "admin" = "write") {
    const { user } = await createUser(db.sql, { email, role, password: "correct horse battery" });
    const { token } = await createToken(db.sql, { email, name: "test", scope });
    return { id: user.id, token };
  }

  /** Calls the API in-process; `body` objects are sent as JSON, strings as they are. */
  async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
      headers["content-length"] = String(Buffer.byteLength(body)); // as an HTTP client would send
    }
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await res.text();
    let json: any = undefined;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, text, headers: res.headers };
  }

  let listening: { stop(): unknown } | null = null;
  /** Serves the app over real HTTP on a free loopback port; returns its base URL. */
  function listen(): string {
    const s = app.listen({ hostname: "127.0.0.1", port: 0 });
    listening = s;
    return `http://127.0.0.1:${s.server!.port}`;
  }

  return {
    ctx,
    app,
    sql: db.sql,
    config,
    call,
    userWithToken,
    listen,
    async close() {
      await listening?.stop();
      await db.close();
      await database.drop();
    },
  };
}
