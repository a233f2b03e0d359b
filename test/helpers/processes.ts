/** The compiled binaries as real processes, with their output kept for failure messages. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const DIST = join(import.meta.dir, "../../dist");
export const CONTROL_PLANE = join(DIST, "wisehosting");
export const AGENT = join(DIST, "wisehosting-agent");
export const binariesBuilt = () => existsSync(CONTROL_PLANE) && existsSync(AGENT);

/** A free TCP port on loopback (bound once, released, then handed out). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export type Proc = { proc: Subprocess; output: () => string; waitFor(re: RegExp, ms?: number): Promise<string>; stop(signal?: NodeJS.Signals): Promise<void> };

export function launch(argv: string[], env: Record<string, string>, cwd?: string): Proc {
  let out = "";
  const proc = Bun.spawn(argv, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env }, cwd, stdout: "pipe", stderr: "pipe" });
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk);
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  return {
    proc,
    output: () => out,
    async waitFor(re, ms = 30_000) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const m = re.exec(out);
        if (m) return m[0];
        if (proc.exitCode !== null) throw new Error(`process exited (${proc.exitCode}) before ${re}:\n${out}`);
        await Bun.sleep(50);
      }
      throw new Error(`timed out waiting for ${re}:\n${out}`);
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      await Promise.race([proc.exited, Bun.sleep(10_000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}

/** Polls `fn` until it returns a truthy value or time runs out. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 60_000, every = 200): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(every);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}
