/**
 * wisehosting-agent: one per worker host. Connects out to the control plane
 * and runs its jobs with podman and git.
 *
 * Stopping the agent (SIGINT/SIGTERM) leaves containers running; the next
 * start reports them in its hello so the control plane picks them up again.
 */
import { mkdir } from "node:fs/promises";
import { AGENT_VERSION, loadConfig } from "./config";
import { lastLines, run } from "./exec";
import { FatalError, HubClient } from "./hub-client";
import { log } from "./log";
import { cleanLeftovers } from "./tasks/deploy";

function die(message: string): never {
  process.stderr.write(`wisehosting-agent: ${message}\n`);
  process.exit(1);
}

/** Fails with one clear line when a required program is missing or broken. */
async function requireProgram(argv: string[], what: string): Promise<string> {
  const r = await run(argv, { timeoutMs: 30_000 });
  if (r.code !== 0) die(`${what} is required but \`${argv.join(" ")}\` failed: ${lastLines(r.stderr, 1) || `exit ${r.code}`}`);
  return r.stdout.trim();
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Every child (podman, conmon, git) would inherit it otherwise; conmon lives
  // as long as its container. The value is kept in config as a Sensitive.
  delete process.env.WH_WORKER_SECRET;
  const podmanVersion = await requireProgram(["podman", "--version"], "podman (on PATH)");
  const gitVersion = await requireProgram(["git", "--version"], "git (on PATH)");
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(config.workDir, { recursive: true, mode: 0o700 });
  await cleanLeftovers(config.workDir, config.stateDir);
  log.info(
    `wisehosting-agent ${AGENT_VERSION} (${podmanVersion}, ${gitVersion}) worker ${config.workerName}, ` +
      `hub ${config.hubUrl}, advertising ${config.advertiseAddr}, ${config.memoryMb} MB`,
  );

  const client = new HubClient({ config });
  try {
    await client.start();
  } catch (err) {
    if (err instanceof FatalError) die(err.message);
    throw err;
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: shutting down (containers keep running)`);
    void client.stop().then(() => process.exit(0));
  };
  // A bug in one job must not take the agent (and every log follower) down.
  process.on("unhandledRejection", (err) => log.error(`unhandled: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((err) => die(err instanceof Error ? err.message : String(err)));
