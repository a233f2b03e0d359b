/**
 * The CLI's way into a running control plane on the embedded database: PGlite
 * serves exactly one connection, which the server holds, so `admin create` and
 * `token create` ask the server over a unix socket in WH_DATA_DIR (directory
 * 0700, socket 0600: only the operator's user can reach it).
 */
import { chmodSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "postgres";
import { z } from "zod";
import { ApiError } from "../http/errors";
import { createToken } from "../tokens/service";
import { createUser } from "../users/service";

export const socketPath = (dataDir: string) => join(dataDir, "control.sock");

const adminCreate = z.object({ email: z.string(), password: z.string().optional() });
const tokenCreate = z.object({ email: z.string(), name: z.string().min(1).max(100), scope: z.enum(["read", "write", "admin"]) });

export type CliResult = { lines: string[] };

/** The CLI commands that change the database, run against `sql`. */
export const commands = {
  async "admin-create"(sql: Sql, input: unknown): Promise<CliResult> {
    const a = adminCreate.parse(input);
    const r = await createUser(sql, { email: a.email, password: a.password, role: "admin" });
    return { lines: [`admin ${r.user.email} created (id ${r.user.id})`, ...(r.generated ? [`password: ${r.password}`] : [])] };
  },
  async "token-create"(sql: Sql, input: unknown): Promise<CliResult> {
    const t = tokenCreate.parse(input);
    return { lines: [(await createToken(sql, t)).token] };
  },
};
export type CommandName = keyof typeof commands;

export function serveControlSocket(dataDir: string, sql: Sql) {
  const path = socketPath(dataDir);
  rmSync(path, { force: true });
  const server = Bun.serve({
    unix: path,
    async fetch(req) {
      const name = new URL(req.url).pathname.slice(1) as CommandName;
      if (req.method !== "POST" || !(name in commands)) return Response.json({ error: "unknown command" }, { status: 404 });
      try {
        return Response.json(await commands[name](sql, await req.json()));
      } catch (e) {
        const message = e instanceof ApiError || e instanceof z.ZodError ? e.message : "internal error";
        if (!(e instanceof ApiError || e instanceof z.ZodError)) console.error("[control-socket]", e);
        return Response.json({ error: message }, { status: 400 });
      }
    },
  });
  chmodSync(path, 0o600);
  return {
    stop() {
      server.stop(true);
      rmSync(path, { force: true });
    },
  };
}

/** Runs a command through a running server's socket; null when no server answers there. */
export async function callControlSocket(dataDir: string, name: CommandName, input: unknown): Promise<CliResult | null> {
  const path = socketPath(dataDir);
  if (!existsSync(path)) return null;
  let res: Response;
  try {
    res = await fetch(`http://localhost/${name}`, { unix: path, method: "POST", body: JSON.stringify(input) } as RequestInit);
  } catch {
    return null; // a socket file left by a server that is gone
  }
  const body = (await res.json()) as CliResult & { error?: string };
  if (!res.ok) throw new Error(body.error ?? "the server refused the command");
  return body;
}
