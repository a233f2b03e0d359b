/**
 * A real Caddy for tests: Debian's caddy package run with a config the test
 * writes (never its default Caddyfile): admin API, HTTP and HTTPS on loopback
 * ports, storage and its internal CA in a temporary directory, the CA root
 * not installed anywhere and the config not persisted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, launch, type Proc } from "./processes";

export const caddyAvailable = () => Bun.spawnSync(["sh", "-c", "command -v caddy"]).exitCode === 0;

export type TestCaddy = {
  adminUrl: string;
  httpPort: number;
  httpsPort: number;
  dir: string;
  proc: () => Proc;
  /** The running config, as the admin API reports it. */
  config(): Promise<any>;
  /** The routes of one HTTP server. */
  routes(server?: string): Promise<any[]>;
  /** PEM of Caddy's internal root CA (waits for it to exist). */
  rootCa(): Promise<string>;
  /** Stops Caddy and starts it again from the original config (its runtime changes are lost). */
  restart(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Starts Caddy. `apps` is merged into a config that fixes the admin, storage
 * and port settings; servers in it may use the returned ports through the
 * placeholders HTTP_PORT and HTTPS_PORT in listen addresses.
 */
export async function startCaddy(apps: { http?: { servers?: Record<string, unknown> }; tls?: unknown } = {}): Promise<TestCaddy> {
  const dir = mkdtempSync(join(tmpdir(), "wh-caddy-"));
  const adminPort = freePort();
  const httpPort = freePort();
  const httpsPort = freePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const fill = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? {}).replaceAll("HTTPS_PORT", String(httpsPort)).replaceAll("HTTP_PORT", String(httpPort)));
  const config = {
    admin: { listen: `127.0.0.1:${adminPort}`, config: { persist: false } },
    storage: { module: "file_system", root: join(dir, "storage") },
    logging: { logs: { default: { level: "WARN" } } },
    apps: {
      http: { http_port: httpPort, https_port: httpsPort, servers: fill(apps.http?.servers ?? {}) },
      ...(apps.tls ? { tls: fill(apps.tls) } : {}),
      pki: { certificate_authorities: { local: { install_trust: false } } },
    },
  };
  const file = join(dir, "caddy.json");
  writeFileSync(file, JSON.stringify(config, null, 2));
  const env = { HOME: dir, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") };
  let proc: Proc;

  async function start() {
    proc = launch(["caddy", "run", "--config", file], env, dir);
    const end = Date.now() + 15_000;
    for (;;) {
      try {
        const r = await fetch(`${adminUrl}/config/`);
        await r.arrayBuffer();
        if (r.ok) return;
      } catch {}
      if (proc.proc.exitCode !== null) throw new Error(`caddy exited (${proc.proc.exitCode}):\n${proc.output()}`);
      if (Date.now() > end) throw new Error(`caddy's admin API did not answer:\n${proc.output()}`);
      await Bun.sleep(25);
    }
  }
  await start();

  const t: TestCaddy = {
    adminUrl,
    httpPort,
    httpsPort,
    dir,
    proc: () => proc,
    async config() {
      return (await fetch(`${adminUrl}/config/`)).json();
    },
    async routes(server = "wisehosting") {
      return ((await t.config())?.apps?.http?.servers?.[server]?.routes ?? []) as any[];
    },
    async rootCa() {
      const path = join(dir, "storage/pki/authorities/local/root.crt");
      const end = Date.now() + 10_000;
      while (!existsSync(path)) {
        if (Date.now() > end) throw new Error(`no internal root CA at ${path}`);
        await Bun.sleep(25);
      }
      return readFileSync(path, "utf8");
    },
    async restart() {
      await proc.stop();
      await start();
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
