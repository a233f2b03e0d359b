/**
 * The only place in the agent that starts processes. Everything goes through
 * Bun.spawn with an argv array (never a shell), so no value can be
 * re-interpreted as shell syntax. Secrets never go in argv (argv is visible to
 * every user of the host through /proc); they travel in files or env values,
 * wrapped in {@link Sensitive} so that printing them by accident shows
 * `[REDACTED]`.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const REDACTED = "[REDACTED]";

/** Values shorter than this aren't scrubbed from text: they would garble every line. */
const MIN_REDACT_LENGTH = 4;

/** A secret value. Only {@link Sensitive.reveal} gives the value back. */
export class Sensitive {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The raw value, for the few places that must use it (env, files, HTTP bodies). */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/** Replaces every occurrence of each secret's value in `text` with `[REDACTED]`. */
export function redact(text: string, secrets: readonly Sensitive[] = []): string {
  let out = text;
  for (const s of secrets) {
    const v = s.reveal();
    if (v.length >= MIN_REDACT_LENGTH) out = out.split(v).join(REDACTED);
  }
  return out;
}

/** A printable form of a command for logs, e.g. `$ podman stop -- wh-1`, with secrets scrubbed. */
export function describeCommand(argv: readonly string[], secrets: readonly Sensitive[] = []): string {
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)));
  return redact(`$ ${quoted.join(" ")}`, secrets);
}

export type StreamName = "stdout" | "stderr";

export interface RunOptions {
  /** Extra environment entries; Sensitive values are revealed only to the child. */
  env?: Record<string, string | Sensitive>;
  /** Start from process.env (default true). False gives the child only `env`. */
  inheritEnv?: boolean;
  cwd?: string;
  stdin?: string | Sensitive;
  /** Kill the process (SIGTERM, then SIGKILL after 5 s) when it runs longer. */
  timeoutMs?: number;
  /** Kill the process when this signal aborts. */
  signal?: AbortSignal;
  /** Called with each output line (without the newline), already redacted. */
  onLine?: (line: string, stream: StreamName) => void;
  /** Scrubbed from lines passed to onLine and from the returned output. */
  secrets?: readonly Sensitive[];
  /** How much of each stream to keep in the result (characters, the tail is kept). Default 16 Mi. */
  maxOutputBytes?: number;
  /**
   * On timeout or abort, first SIGKILL the process's descendants that run in
   * another PID namespace (the containers of `podman build`'s RUN steps, which
   * a killed podman leaves running), then give it {@link CONTAINER_GRACE_MS}
   * to fail and clean up by itself before SIGTERM.
   */
  killContainers?: boolean;
}

/** How long a process gets to exit by itself after its containers were killed. */
export const CONTAINER_GRACE_MS = 3000;

/**
 * Descendants of `pid` running in another PID namespace than this process
 * (Linux /proc; nothing elsewhere). Read at once, before anything is killed:
 * a killed parent's children are re-parented and can't be found any more.
 */
export function containerDescendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    try {
      // comm (field 2) may hold spaces and parentheses: ppid is the second field after the last ")".
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const ownNs = pidNamespace("self");
  const out: number[] = [];
  const todo = [...(children.get(pid) ?? [])];
  while (todo.length > 0) {
    const p = todo.pop()!;
    const ns = pidNamespace(String(p));
    if (ns !== null && ownNs !== null && ns !== ownNs) out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

function pidNamespace(pid: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

export interface RunResult {
  /** Exit code; 128+n when killed by signal n; 127 when the program wasn't found. */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

/** Longest line passed to onLine; longer ones are cut so one log message stays bounded. */
export const MAX_LINE_CHARS = 16 * 1024;

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function buildEnv(opts: RunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  if (opts.inheritEnv !== false) {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) env[k] = typeof v === "string" ? v : v.reveal();
  return env;
}

/** Reads a byte stream, calls onLine per line, and keeps (the tail of) the text. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  name: StreamName,
  opts: RunOptions,
): Promise<string> {
  const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  const decoder = new TextDecoder();
  let kept = "";
  let partial = "";
  const emit = (line: string) => {
    if (!opts.onLine) return;
    const clean = line.endsWith("\r") ? line.slice(0, -1) : line;
    const cut = clean.length > MAX_LINE_CHARS ? clean.slice(0, MAX_LINE_CHARS) + "…" : clean;
    opts.onLine(redact(cut, opts.secrets), name);
  };
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
    kept += text;
    if (kept.length > max) kept = kept.slice(kept.length - max);
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) emit(l);
    // A process printing megabytes without a newline still gets cut into lines.
    if (partial.length > MAX_LINE_CHARS) {
      emit(partial);
      partial = "";
    }
    if (done) break;
  }
  if (partial.length > 0) emit(partial);
  return redact(kept, opts.secrets);
}

/**
 * Runs argv[0] with arguments argv[1..] and waits for it to exit. Never throws
 * for a failing or missing program: the result says what happened.
 */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new Error("run: empty argv");
  if (opts.signal?.aborted) return { code: 130, stdout: "", stderr: "aborted", timedOut: false, aborted: true };
  let proc: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>;
  try {
    proc = Bun.spawn([...argv], {
      cwd: opts.cwd,
      env: buildEnv(opts),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (err) {
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${(err as Error).message}`, timedOut: false, aborted: false };
  }
  // Always close stdin so a program that reads it doesn't wait forever.
  if (opts.stdin !== undefined) {
    proc.stdin.write(typeof opts.stdin === "string" ? opts.stdin : opts.stdin.reveal());
  }
  await proc.stdin.end();

  let timedOut = false;
  let aborted = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    proc.kill("SIGTERM");
    killTimer ??= setTimeout(() => proc.kill("SIGKILL"), 5000);
  };
  const terminate = () => {
    if (!opts.killContainers) return stop();
    if (graceTimer) return;
    for (const p of containerDescendants(proc.pid)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    graceTimer = setTimeout(stop, CONTAINER_GRACE_MS);
  };
  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          terminate();
        }, opts.timeoutMs)
      : undefined;
  const onAbort = () => {
    aborted = true;
    terminate();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const [stdout, stderr] = await Promise.all([
      pump(proc.stdout, "stdout", opts),
      pump(proc.stderr, "stderr", opts),
    ]);
    await proc.exited;
    const sig = proc.signalCode;
    const code = proc.exitCode ?? (sig ? 128 + (SIGNALS[sig] ?? 0) : 1);
    return { code, stdout, stderr, timedOut, aborted };
  } finally {
    if (timer) clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    if (graceTimer) clearTimeout(graceTimer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** Thrown by {@link runChecked} when a command exits non-zero. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
    secrets: readonly Sensitive[] = [],
  ) {
    const why = result.timedOut ? "timed out" : result.aborted ? "was cancelled" : `exited with code ${result.code}`;
    const detail = lastLines(result.stderr || result.stdout, 3);
    super(redact(`${argv[0]} ${argv[1] ?? ""} ${why}${detail ? `: ${detail}` : ""}`, secrets));
  }
}

/** Like {@link run} but throws a {@link CommandError} unless the exit code is 0. */
export async function runChecked(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(argv, opts);
  if (result.code !== 0) throw new CommandError(argv, result, opts.secrets);
  return result;
}

/** The last `n` non-empty lines of `text`, joined with " | ", for one-line error messages. */
export function lastLines(text: string, n: number): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .slice(-n)
    .join(" | ");
}
