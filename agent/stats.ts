/**
 * Resource sampling on the worker: every 10 s the host's CPU (from /proc/stat
 * deltas), memory (/proc/meminfo) and disk (statfs of the state dir), and
 * per container CPU, memory, network and block I/O (`podman stats`) with the
 * restart count. Samples are buffered and sent together as one `stats`
 * message; while the socket is down they wait (up to 60, the newest kept).
 *
 * Container CPU % is computed here from podman's cumulative CPU time between
 * two readings of the same container, so the control plane's
 * cpu_percent × interval adds up to the CPU time actually used. 100 % is one
 * core. Host CPU % is of the whole host (0–100).
 */
import { readFile } from "node:fs/promises";
import { statfs } from "node:fs/promises";
import type { ContainerSample, MessageBody } from "../src/protocol/hub";
import { run } from "./exec";
import { log } from "./log";
import {
  inspectRestartsArgs,
  parseInspectRestarts,
  parsePsStats,
  parseStats,
  psStatsArgs,
  sameContainerId,
  statsArgs,
  type StatsFormat,
} from "./podman/stats";

export type StatsBody = MessageBody<"stats">;
type Sample = StatsBody["samples"][number];

/** Most samples one message may carry (the protocol's limit). */
export const MAX_BUFFERED_SAMPLES = 60;
/** Most containers one sample may carry (the protocol's limit). */
const MAX_CONTAINERS = 2000;
/** JSON size a stats message is kept under (the envelope takes 4 MiB of body). */
export const MAX_MESSAGE_CHARS = 1024 * 1024;

const sampleSize = (s: Sample) => JSON.stringify(s).length + 1;

// ---- host figures (pure parsers) ---------------------------------------

/** Jiffies from the first `cpu` line of /proc/stat: busy and total (guest time is already in user). */
export function parseProcStat(text: string): { busy: number; total: number } | null {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

/** Host CPU % between two /proc/stat readings; without a previous one, the average since boot. */
export function hostCpuPercent(prev: { busy: number; total: number } | null, cur: { busy: number; total: number }): number {
  const dTotal = prev ? cur.total - prev.total : cur.total;
  const dBusy = prev ? cur.busy - prev.busy : cur.busy;
  if (dTotal <= 0 || dBusy < 0) return 0;
  return Math.min(100, (dBusy / dTotal) * 100);
}

/** Used and total memory from /proc/meminfo (used = total − available). */
export function parseMeminfo(text: string): { used: number; total: number } | null {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = kb("MemTotal");
  if (total === null) return null;
  let available = kb("MemAvailable");
  // Kernels before 3.14 have no MemAvailable.
  available ??= (kb("MemFree") ?? 0) + (kb("Buffers") ?? 0) + (kb("Cached") ?? 0);
  return { used: Math.max(0, total - available), total };
}

/** Disk use the way df shows it: used = blocks − free; total = used + available to unprivileged users. */
export function diskFromStatfs(s: { bsize: number; blocks: number; bfree: number; bavail: number }): { used: number; total: number } {
  const used = Math.max(0, (s.blocks - s.bfree) * s.bsize);
  return { used, total: used + Math.max(0, s.bavail) * s.bsize };
}

// ---- sources -------------------------------------------------------------

/** One reading of a container, before CPU % is worked out. */
export interface ContainerReading {
  containerId: string;
  deploymentId: string;
  /** Cumulative CPU time, ns (null: unknown, use cpuPercent). */
  cpuNanos: number | null;
  /** When the counters were read, ns (null: use the wall clock). */
  readAtNanos: number | null;
  /** podman's own CPU %, used for a container's first reading. */
  cpuPercent: number;
  memBytes: number;
  memLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  blkReadBytes: number;
  blkWriteBytes: number;
  restarts: number;
}

export interface HostReading {
  cpu: { busy: number; total: number } | null;
  memUsed: number;
  memTotal: number;
  diskUsed: number;
  diskTotal: number;
}

/** Where readings come from: podman and /proc by default, fakes in tests. */
export interface StatsSources {
  containers(): Promise<ContainerReading[]>;
  host(): Promise<HostReading>;
}

/** /proc and statfs of `stateDir`. */
export async function readHost(stateDir: string): Promise<HostReading> {
  const [stat, mem, fs] = await Promise.all([
    readFile("/proc/stat", "utf8").catch(() => ""),
    readFile("/proc/meminfo", "utf8").catch(() => ""),
    statfs(stateDir).catch(() => null),
  ]);
  const m = parseMeminfo(mem);
  const d = fs ? diskFromStatfs(fs) : { used: 0, total: 0 };
  return { cpu: parseProcStat(stat), memUsed: m?.used ?? 0, memTotal: m?.total ?? 0, diskUsed: d.used, diskTotal: d.total };
}

/**
 * This worker's running wh.* containers with their podman figures: `podman
 * ps` (labels, restarts), `podman stats` for every running container (kept:
 * only ours), and `podman container inspect` for restart counts when this
 * podman's ps has none. Throws when ps or stats fail.
 */
export function podmanContainerSource(workerName: string): () => Promise<ContainerReading[]> {
  let format: StatsFormat = "raw";
  return async () => {
    const ps = await run(psStatsArgs(workerName), { timeoutMs: 30_000 });
    if (ps.code !== 0) throw new Error(`podman ps exited with ${ps.code}: ${ps.stderr.trim().slice(0, 300)}`);
    const ours = parsePsStats(ps.stdout).filter((c) => c.state === "running");
    if (ours.length === 0) return [];
    let st = await run(statsArgs(format), { timeoutMs: 30_000 });
    if (st.code !== 0 && format === "raw") {
      // A podman whose template data lacks .ContainerStats: fall back to its JSON strings for good.
      const fallback = await run(statsArgs("json"), { timeoutMs: 30_000 });
      if (fallback.code === 0) {
        log.warn("podman stats: raw counters template not supported, using --format json (rounded figures)");
        format = "json";
        st = fallback;
      }
    }
    if (st.code !== 0) throw new Error(`podman stats exited with ${st.code}: ${st.stderr.trim().slice(0, 300)}`);
    const stats = parseStats(st.stdout);
    const missing = ours.filter((c) => c.restarts === null);
    let restarts = new Map<string, number>();
    if (missing.length > 0) {
      // Exit status ignored: a container gone since ps still lets the others print.
      const r = await run(inspectRestartsArgs(missing.map((c) => c.name)), { timeoutMs: 30_000 });
      restarts = parseInspectRestarts(r.stdout);
    }
    const out: ContainerReading[] = [];
    for (const c of ours) {
      const s = stats.find((x) => sameContainerId(x.id, c.id) || (x.name !== "" && x.name === c.name));
      if (!s) continue; // stopped between ps and stats
      const restartCount = c.restarts ?? [...restarts].find(([id]) => sameContainerId(id, c.id))?.[1] ?? 0;
      out.push({
        containerId: c.id,
        deploymentId: c.deploymentId,
        cpuNanos: s.cpuNanos,
        readAtNanos: s.systemNanos,
        cpuPercent: s.cpuPercent,
        memBytes: s.memBytes,
        memLimitBytes: s.memLimitBytes,
        netRxBytes: s.netRxBytes,
        netTxBytes: s.netTxBytes,
        blkReadBytes: s.blkReadBytes,
        blkWriteBytes: s.blkWriteBytes,
        restarts: restartCount,
      });
    }
    return out;
  };
}

// ---- the sampler ---------------------------------------------------------

export interface StatsSamplerOptions {
  sources: StatsSources;
  /** Sends one stats message; false when it could not be sent (kept for the next try). */
  send: (body: StatsBody) => boolean;
  /** Time between samples (default 10 s). */
  intervalMs?: number;
  /** Samples per message while connected (default 1: a message every interval). */
  sendEvery?: number;
  now?: () => number;
}

type CpuMark = { cpuNanos: number; atNanos: number };

/** CPU % of one container between two readings (100 = one core); podman's own figure without a usable previous one. */
export function containerCpuPercent(prev: CpuMark | undefined, cur: ContainerReading, nowNanos: number): number {
  const at = cur.readAtNanos ?? nowNanos;
  if (prev && cur.cpuNanos !== null && cur.cpuNanos >= prev.cpuNanos && at > prev.atNanos) {
    return ((cur.cpuNanos - prev.cpuNanos) / (at - prev.atNanos)) * 100;
  }
  return cur.cpuPercent;
}

export class StatsSampler {
  private readonly sources: StatsSources;
  private readonly send: (body: StatsBody) => boolean;
  private readonly intervalMs: number;
  private readonly sendEvery: number;
  private readonly now: () => number;
  private buffer: Sample[] = [];
  private sinceSend = 0;
  private cpuMarks = new Map<string, CpuMark>();
  private hostCpu: { busy: number; total: number } | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private lastWarn = 0;

  constructor(opts: StatsSamplerOptions) {
    this.sources = opts.sources;
    this.send = opts.send;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.sendEvery = Math.max(1, opts.sendEvery ?? 1);
    this.now = opts.now ?? Date.now;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Samples not sent yet. */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Takes a first reading at once (the baseline CPU deltas are measured
   * from), then a sample every interval. Samples still unsent from before
   * go out with the next message.
   */
  start(): void {
    if (this.timer) return;
    void this.prime();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async prime(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.read();
    } catch (err) {
      this.warn(`stats: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** One sample (skipped while the previous reading still runs), then a send when one is due. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const sample = await this.read();
      this.buffer.push(sample);
      if (this.buffer.length > MAX_BUFFERED_SAMPLES) this.buffer.splice(0, this.buffer.length - MAX_BUFFERED_SAMPLES);
      this.sinceSend++;
      if (this.sinceSend >= this.sendEvery) this.flush();
    } catch (err) {
      this.warn(`stats: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Sends every buffered sample, in one message unless they are too big for
   * one (a long backlog of many containers); keeps what could not be sent.
   */
  flush(): boolean {
    while (this.buffer.length > 0) {
      let n = 0;
      let size = 0;
      while (n < this.buffer.length && (n === 0 || size + sampleSize(this.buffer[n]!) <= MAX_MESSAGE_CHARS)) size += sampleSize(this.buffer[n++]!);
      if (!this.send({ samples: this.buffer.slice(0, n) })) return false;
      this.buffer = this.buffer.slice(n);
    }
    this.sinceSend = 0;
    return true;
  }

  /** Reads host and containers; a podman failure still yields the host part. */
  private async read(): Promise<Sample> {
    const at = this.now();
    const [host, containers] = await Promise.all([
      this.sources.host(),
      this.sources.containers().catch((err: Error) => {
        this.warn(`stats: containers not sampled: ${err.message}`);
        return null;
      }),
    ]);
    const hostCpu = host.cpu ? hostCpuPercent(this.hostCpu, host.cpu) : 0;
    if (host.cpu) this.hostCpu = host.cpu;
    const out: ContainerSample[] = [];
    if (containers) {
      const nowNanos = at * 1e6;
      const marks = new Map<string, CpuMark>();
      for (const c of containers) {
        const pct = containerCpuPercent(this.cpuMarks.get(c.containerId), c, nowNanos);
        if (c.cpuNanos !== null) marks.set(c.containerId, { cpuNanos: c.cpuNanos, atNanos: c.readAtNanos ?? nowNanos });
        out.push({
          deployment_id: c.deploymentId,
          cpu_percent: Number.isFinite(pct) && pct > 0 ? pct : 0,
          mem_bytes: c.memBytes,
          mem_limit_bytes: c.memLimitBytes,
          net_rx_bytes: c.netRxBytes,
          net_tx_bytes: c.netTxBytes,
          blk_read_bytes: c.blkReadBytes,
          blk_write_bytes: c.blkWriteBytes,
          restarts: Math.max(0, Math.trunc(c.restarts)),
        });
      }
      // Containers gone since the last reading drop their marks.
      this.cpuMarks = marks;
    }
    return {
      at,
      host: {
        cpu_percent: hostCpu,
        mem_used_bytes: host.memUsed,
        mem_total_bytes: host.memTotal,
        disk_used_bytes: host.diskUsed,
        disk_total_bytes: host.diskTotal,
      },
      containers: out.slice(0, MAX_CONTAINERS),
    };
  }

  /** At most one warning a minute: a broken podman shouldn't flood the log every 10 s. */
  private warn(message: string): void {
    const t = this.now();
    if (t - this.lastWarn < 60_000) return;
    this.lastWarn = t;
    log.warn(message);
  }
}

/** The real sources: podman for containers, /proc and statfs for the host. */
export function defaultStatsSources(workerName: string, stateDir: string): StatsSources {
  return { containers: podmanContainerSource(workerName), host: () => readHost(stateDir) };
}
