/**
 * A private git repository over smart HTTP on loopback: `git http-backend`
 * (CGI) behind a small server that demands HTTP Basic with one user and
 * token, as a provider does for a private repository.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BACKEND = "/usr/lib/git-core/git-http-backend";

export function gitHttpAvailable(): boolean {
  return Bun.spawnSync(["test", "-x", BACKEND]).exitCode === 0;
}

/** Serves the bare repositories under `root` at http://127.0.0.1:<port>/<name>.git, only with `user:token`. */
export function startGitHttp(root: string, auth: { user: string; token: string }, opts: { delayMs?: number } = {}) {
  const expected = "Basic " + Buffer.from(`${auth.user}:${auth.token}`).toString("base64");
  const seen: { method: string; path: string; authorized: boolean }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const authorized = req.headers.get("authorization") === expected;
      seen.push({ method: req.method, path: url.pathname, authorized });
      if (!authorized) return new Response("auth required\n", { status: 401, headers: { "www-authenticate": 'Basic realm="git"' } });
      if (opts.delayMs) await Bun.sleep(opts.delayMs);
      const body = req.method === "POST" ? new Uint8Array(await req.arrayBuffer()) : undefined;
      const p = Bun.spawn([BACKEND], {
        env: {
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: "1",
          PATH_INFO: url.pathname,
          QUERY_STRING: url.search.slice(1),
          REQUEST_METHOD: req.method,
          CONTENT_TYPE: req.headers.get("content-type") ?? "",
          CONTENT_LENGTH: body ? String(body.length) : "0",
          REMOTE_USER: auth.user,
          REMOTE_ADDR: "127.0.0.1",
          GIT_PROTOCOL: req.headers.get("git-protocol") ?? "",
          PATH: process.env.PATH ?? "/usr/bin:/bin",
        },
        stdin: body ?? "ignore",
        stdout: "pipe",
        stderr: "ignore",
      });
      const out = Buffer.from(await new Response(p.stdout).arrayBuffer());
      await p.exited;
      const split = out.indexOf("\r\n\r\n") >= 0 ? out.indexOf("\r\n\r\n") : out.indexOf("\n\n");
      const sepLen = out.indexOf("\r\n\r\n") >= 0 ? 4 : 2;
      const head = out.subarray(0, split).toString();
      const headers = new Headers();
      let status = 200;
      for (const line of head.split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
        else headers.append(k, v);
      }
      return new Response(out.subarray(split + sepLen), { status, headers });
    },
  });
  return { base: `http://127.0.0.1:${server.port}`, seen, stop: () => server.stop(true) };
}

/** A bare copy of `workTree`'s repository under a fresh root, named `<name>.git`. */
export function bareCopy(workTree: string, name: string): string {
  const root = mkdtempSync(join(tmpdir(), "wh-githttp-"));
  const r = Bun.spawnSync(["git", "clone", "-q", "--bare", "--", workTree, join(root, `${name}.git`)]);
  if (r.exitCode !== 0) throw new Error(`git clone --bare: ${r.stderr.toString()}`);
  return root;
}
