#!/usr/bin/env bun
/**
 * wisehosting: the control plane's command line.
 *   serve | migrate | admin create | token create | --help | --version
 */
import { parseArgs } from "node:util";
import { ConfigError, configHelp, parseConfig, splitHostPort } from "./config";
import { resolveSecrets } from "./secrets";
import { openDatabase } from "./db";
import { migrate } from "./db/migrations";
import { Events } from "./events";
import { Hub } from "./hub/service";
import { buildApp } from "./app";
import { startIngress } from "./ingress/service";
import { startEdge } from "./edge";
import { startDomainJobs } from "./domains";
import { createScheduler } from "./scheduler/service";
import { callControlSocket, commands, serveControlSocket, type CommandName } from "./cli/control-socket";
import { ApiError } from "./http/errors";
import { startFleetJobs } from "./fleet/service";
import { startAlertJobs } from "./alerts";
import { startGitProviderJobs } from "./gitproviders";
import { startMetricsJobs } from "./metrics/service";
import type { AppContext } from "./context";
import { randomBytes } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rotateMasterKey } from "./crypto/rotate";
import { keyId } from "./crypto";

export const VERSION = "0.1.0";

const HELP = `wisehosting ${VERSION} — self-hosted platform-as-a-service (control plane)

Usage:
  wisehosting serve                                    start the API, dashboard, hub and ingress
  wisehosting migrate                                  apply database migrations and exit
  wisehosting admin create --email E [--password P]    create an admin (prints a generated password)
  wisehosting token create --email E --name N [--scope read|write|admin]
                                                       print a new personal API token, once
  wisehosting keys rotate                              re-encrypt every secret under a new master key
  wisehosting --help | --version

Environment:
${Object.entries(configHelp)
  .map(([k, v]) => `  ${k.padEnd(22)} ${v}`)
  .join("\n")}
`;

function fail(message: string): never {
  console.error(`wisehosting: ${message}`);
  process.exit(1);
}

async function setup() {
  const raw = parseConfig(process.env);
  const { config, workerSecretCreated } = resolveSecrets(raw);
  const db = await openDatabase({ url: config.WH_DATABASE_URL, dataDir: config.WH_DATA_DIR });
  await migrate(db.sql);
  return { config, db, workerSecretCreated };
}

async function serve() {
  const started = performance.now();
  const { config, db, workerSecretCreated } = await setup();
  const events = new Events();
  const hub = new Hub();
  const ctx: AppContext = { sql: db.sql, config, events, hub };
  // Sockets don't survive a restart: every worker is offline until it reconnects.
  await db.sql`UPDATE workers SET status = 'offline' WHERE status = 'online'`;
  const app = buildApp(ctx);
  const { hostname, port } = splitHostPort(config.WH_LISTEN);
  // Slow or silent clients are cut off after 30 s without a byte (headers or body).
  app.listen({ hostname, port, maxRequestBodySize: 1024 * 1024 + 1024, idleTimeout: 30 });
  const control = db.embedded ? serveControlSocket(config.WH_DATA_DIR, db.sql) : null;
  // One edge: Caddy through its admin API when configured, else the built-in ingress.
  const edge = config.WH_CADDY_ADMIN_URL ? startEdge(ctx) : null;
  const ingress = edge ? null : startIngress(ctx);
  await (edge ? edge.reconcile() : ingress!.reload());
  const domainJobs = startDomainJobs(ctx);
  const scheduler = createScheduler(ctx);
  const fleet = startFleetJobs(ctx);
  const alerts = startAlertJobs(ctx);
  const gitJobs = startGitProviderJobs(ctx);
  const metrics = startMetricsJobs(ctx);
  if (workerSecretCreated) {
    console.log(`Generated a worker secret (shown once; also in ${config.WH_DATA_DIR}/worker.secret). Start an agent with:`);
    console.log(`  WH_HUB_URL=${config.publicUrl} WH_WORKER_SECRET=${config.workerSecret} ./wisehosting-agent`);
  }
  console.log(
    `wisehosting ${VERSION} ready in ${Math.round(performance.now() - started)} ms: api http://${config.WH_LISTEN}, ${edge ? `edge caddy ${config.WH_CADDY_ADMIN_URL}` : `ingress http://${config.WH_INGRESS_LISTEN}`}, database ${db.embedded ? "embedded" : "external"}`,
  );
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    fleet.stop();
    gitJobs.stop();
    metrics.stop();
    await alerts.stop();
    scheduler.stop();
    ingress?.stop();
    edge?.stop();
    domainJobs.stop();
    hub.closeAll();
    control?.stop();
    await app.stop();
    await db.close();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

/**
 * Runs a CLI command on the same database the server uses: directly on an
 * external PostgreSQL; on the embedded one through the running server's
 * control socket when a server runs, else by opening it here.
 */
async function runCommand(name: CommandName, input: unknown) {
  const raw = parseConfig(process.env);
  if (!raw.WH_DATABASE_URL) {
    const viaServer = await callControlSocket(raw.WH_DATA_DIR, name, input);
    if (viaServer) return viaServer.lines.forEach((l) => console.log(l));
  }
  const { db } = await setup();
  try {
    (await commands[name](db.sql, input)).lines.forEach((l) => console.log(l));
  } finally {
    await db.close();
  }
}

/**
 * New master key; every ciphertext re-encrypted in one transaction. A key
 * from WH_DATA_DIR/master.key is replaced there (the old one kept beside it,
 * 0600); a key given as WH_MASTER_KEY is printed for the operator to set.
 * Servers must restart with the new key.
 */
async function rotateKeys() {
  const { config, db } = await setup();
  const fresh = randomBytes(32);
  try {
    const n = await rotateMasterKey(db.sql, config.masterKey, fresh);
    console.log(
      `re-encrypted ${n.env} env values, ${n.totp} TOTP secrets, ${n.git_tokens} git tokens, ${n.webhook_secrets} webhook secrets and ${n.channel_secrets} channel secrets under key ${keyId(fresh)}`,
    );
  } finally {
    await db.close();
  }
  if (process.env.WH_MASTER_KEY) {
    console.log(`set WH_MASTER_KEY=${fresh.toString("hex")} and restart every control plane`);
  } else {
    const file = join(config.WH_DATA_DIR, "master.key");
    renameSync(file, `${file}.old-${keyId(config.masterKey)}`);
    writeFileSync(file, fresh.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
    console.log(`wrote ${file}; restart the control plane`);
  }
}

async function main(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
      email: { type: "string" },
      password: { type: "string" },
      name: { type: "string" },
      scope: { type: "string" },
    },
  });
  const cmd = positionals.join(" ");
  if (values.help || cmd === "" || cmd === "help") return console.log(HELP);
  if (values.version) return console.log(VERSION);
  switch (cmd) {
    case "serve":
      return serve();
    case "migrate": {
      const { db } = await setup();
      console.log("migrations applied");
      return db.close();
    }
    case "admin create": {
      if (!values.email) fail("admin create needs --email");
      return runCommand("admin-create", { email: values.email, password: values.password });
    }
    case "token create": {
      if (!values.email || !values.name) fail("token create needs --email and --name");
      const scope = values.scope ?? "write";
      if (scope !== "read" && scope !== "write" && scope !== "admin") fail("--scope must be read, write or admin");
      return runCommand("token-create", { email: values.email, name: values.name, scope });
    }
    case "keys rotate":
      return rotateKeys();
    default:
      fail(`unknown command "${cmd}"; see wisehosting --help`);
  }
}

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof ConfigError) fail(e.message);
  if (e instanceof ApiError) fail(e.message);
  fail(e instanceof Error ? e.message : String(e));
});
