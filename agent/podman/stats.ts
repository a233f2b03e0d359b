/**
 * Pure argv builders and parsers for container resource figures: `podman
 * stats` (CPU, memory, network, block I/O) and the restart count from
 * `podman ps` (or `podman container inspect` where ps doesn't carry it).
 * Nothing here runs podman.
 *
 * Two stats formats are understood:
 * - `--format '{{json .ContainerStats}}'` (the default here): one JSON object
 *   per line with podman's raw counters (CPUNano, SystemNano, bytes as
 *   integers). Exact, so per-sample deltas of cumulative counters stay right
 *   when totals are large.
 * - `--format json`: an array of human strings ("1.098MB / 67.11MB", cpu_time
 *   "25.557536ms"). Three or four significant digits only; used when the raw
 *   template isn't accepted by the installed podman.
 */
import { z } from "zod";
import { LABELS } from "../../src/protocol/hub";

export type StatsFormat = "raw" | "json";

/** The Go template that prints podman's raw counters, one JSON object per container. */
export const RAW_STATS_TEMPLATE = "{{json .ContainerStats}}";

/**
 * `podman stats --no-stream` for every running container on the host: asking
 * for named containers would fail as a whole when one stops in between, so
 * the caller keeps only the ones it knows from {@link psStatsArgs}.
 */
export function statsArgs(format: StatsFormat = "raw"): string[] {
  return ["podman", "stats", "--no-stream", "--no-trunc", "--format", format === "raw" ? RAW_STATS_TEMPLATE : "json"];
}

/** Running containers labelled as this worker's, as JSON (labels and, on newer podman, Restarts). */
export function psStatsArgs(workerName: string): string[] {
  return ["podman", "ps", "--filter", `label=${LABELS.worker}=${workerName}`, "--format", "json"];
}

/** Restart counts where `podman ps` has none (podman < 4.6): one `<id> <count>` line per container. */
export function inspectRestartsArgs(names: readonly string[]): string[] {
  return ["podman", "container", "inspect", "--format", "{{.ID}} {{.RestartCount}}", "--", ...names];
}

// ---- parsers -------------------------------------------------------------

/** One container's figures as podman reports them. Byte counters are cumulative since the container started. */
export interface PodmanStats {
  id: string;
  name: string;
  /** CPU time used since start, ns; null when the format doesn't carry it precisely. */
  cpuNanos: number | null;
  /** When podman read the counters, ns since the epoch (raw format only). */
  systemNanos: number | null;
  /** podman's own figure: since its previous reading, or since start with --no-stream. 100 = one core. */
  cpuPercent: number;
  memBytes: number;
  memLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  blkReadBytes: number;
  blkWriteBytes: number;
}

const nonneg = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);

const rawEntry = z.object({
  ContainerID: z.string(),
  Name: z.string().default(""),
  CPU: z.number().nullish(),
  CPUNano: z.number().nullish(),
  SystemNano: z.number().nullish(),
  MemUsage: z.number().nullish(),
  MemLimit: z.number().nullish(),
  NetInput: z.number().nullish(),
  NetOutput: z.number().nullish(),
  BlockInput: z.number().nullish(),
  BlockOutput: z.number().nullish(),
});

const jsonEntry = z.object({
  id: z.string(),
  name: z.string().default(""),
  cpu_time: z.string().nullish(),
  cpu_percent: z.string().nullish(),
  mem_usage: z.string().nullish(),
  net_io: z.string().nullish(),
  block_io: z.string().nullish(),
});

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  eb: 1e18,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
};

/** "1.098MB" → 1098000, "0B" → 0, "3.5KiB" → 3584; null when it isn't a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = (m[2] || "B").toLowerCase();
  const factor = UNITS[unit];
  if (factor === undefined) return null;
  return Math.round(Number(m[1]) * factor);
}

/** "1.098MB / 67.11MB" → [1098000, 67110000]; missing halves are 0. */
export function parseSizePair(text: string | null | undefined): [number, number] {
  const [a = "", b = ""] = (text ?? "").split("/");
  return [parseSize(a) ?? 0, parseSize(b) ?? 0];
}

const DURATION_UNITS: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, "µs": 1e3, "μs": 1e3, ns: 1 };

/** A Go duration string ("25.557536ms", "1m2.5s", "1h0m3s") → nanoseconds; null when malformed. */
export function parseGoDuration(text: string): number | null {
  const s = text.trim();
  if (s === "0" || s === "0s") return 0;
  const re = /([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|μs|ns)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === s.length && matched > 0 ? Math.round(total) : null;
}

function fromRaw(e: z.infer<typeof rawEntry>): PodmanStats {
  return {
    id: e.ContainerID,
    name: e.Name,
    cpuNanos: typeof e.CPUNano === "number" && e.CPUNano >= 0 ? e.CPUNano : null,
    systemNanos: typeof e.SystemNano === "number" && e.SystemNano > 0 ? e.SystemNano : null,
    cpuPercent: nonneg(e.CPU),
    memBytes: nonneg(e.MemUsage),
    memLimitBytes: nonneg(e.MemLimit),
    netRxBytes: nonneg(e.NetInput),
    netTxBytes: nonneg(e.NetOutput),
    blkReadBytes: nonneg(e.BlockInput),
    blkWriteBytes: nonneg(e.BlockOutput),
  };
}

function fromJson(e: z.infer<typeof jsonEntry>): PodmanStats {
  const [mem, limit] = parseSizePair(e.mem_usage);
  const [rx, tx] = parseSizePair(e.net_io);
  const [rd, wr] = parseSizePair(e.block_io);
  const pct = Number((e.cpu_percent ?? "").replace("%", "").trim());
  return {
    id: e.id,
    name: e.name,
    cpuNanos: e.cpu_time ? parseGoDuration(e.cpu_time) : null,
    systemNanos: null,
    cpuPercent: Number.isFinite(pct) && pct > 0 ? pct : 0,
    memBytes: mem,
    memLimitBytes: limit,
    netRxBytes: rx,
    netTxBytes: tx,
    blkReadBytes: rd,
    blkWriteBytes: wr,
  };
}

/**
 * Parses `podman stats --no-stream` output in either format: JSON lines of
 * raw ContainerStats, or the `--format json` array. Entries that don't fit
 * are skipped; text that is not JSON at all throws.
 */
export function parseStats(stdout: string): PodmanStats[] {
  const trimmed = stdout.trim();
  if (trimmed === "") return [];
  const items: unknown[] = trimmed.startsWith("[")
    ? z.array(z.unknown()).parse(JSON.parse(trimmed))
    : trimmed
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as unknown);
  const out: PodmanStats[] = [];
  for (const item of items) {
    const raw = rawEntry.safeParse(item);
    if (raw.success) {
      out.push(fromRaw(raw.data));
      continue;
    }
    const human = jsonEntry.safeParse(item);
    if (human.success) out.push(fromJson(human.data));
  }
  return out;
}

/** A running wh.* container as `podman ps` lists it, with its restart count when podman gives one. */
export interface PsStatsEntry {
  id: string;
  name: string;
  deploymentId: string;
  projectId: string;
  state: string;
  /** null: this podman's ps has no Restarts field; ask inspect. */
  restarts: number | null;
}

const psEntry = z.object({
  Id: z.string(),
  Names: z.array(z.string()).nullish(),
  State: z.string().nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
  Restarts: z.number().int().nonnegative().nullish(),
});

/** Parses `podman ps --format json`, keeping wh.* containers (labels present). */
export function parsePsStats(stdout: string): PsStatsEntry[] {
  const trimmed = stdout.trim();
  if (trimmed === "") return [];
  const list = z.array(z.unknown()).parse(JSON.parse(trimmed));
  const out: PsStatsEntry[] = [];
  for (const item of list) {
    const e = psEntry.safeParse(item);
    if (!e.success) continue;
    const labels = e.data.Labels ?? {};
    const deploymentId = labels[LABELS.deployment];
    const projectId = labels[LABELS.project];
    if (!deploymentId || !projectId) continue;
    out.push({
      id: e.data.Id,
      name: e.data.Names?.[0] ?? "",
      deploymentId,
      projectId,
      state: e.data.State ?? "unknown",
      restarts: e.data.Restarts ?? null,
    });
  }
  return out;
}

/** Parses {@link inspectRestartsArgs} output into container id → restart count. */
export function parseInspectRestarts(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    const m = /^([0-9a-f]{12,64})\s+(\d+)\s*$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** True when `a` and `b` name the same container (podman ids may be shortened to 12). */
export function sameContainerId(a: string, b: string): boolean {
  if (a.length === 0 || b.length === 0) return false;
  return a.length <= b.length ? b.startsWith(a) : a.startsWith(b);
}
