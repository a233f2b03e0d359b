import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { statsMsg } from "../src/protocol/hub";
import { setLogWriter } from "./log";
import {
  containerCpuPercent,
  diskFromStatfs,
  hostCpuPercent,
  MAX_BUFFERED_SAMPLES,
  MAX_MESSAGE_CHARS,
  parseMeminfo,
  parseProcStat,
  readHost,
  StatsSampler,
  type ContainerReading,
  type HostReading,
  type StatsBody,
} from "./stats";

setLogWriter(() => {});

const PROC_STAT = `cpu  169673 665 54589 639117 3135 0 13719 100 0 0
cpu0 84836 332 27294 319558 1567 0 6859 50 0 0
intr 12345
`;

const MEMINFO = `MemTotal:       24683656 kB
MemFree:        22047264 kB
MemAvailable:   23440192 kB
Buffers:          123456 kB
Cached:          1000000 kB
`;

test("parseProcStat: busy excludes idle and iowait; total excludes guest", () => {
  const total = 169673 + 665 + 54589 + 639117 + 3135 + 0 + 13719 + 100;
  expect(parseProcStat(PROC_STAT)).toEqual({ busy: total - 639117 - 3135, total });
  expect(parseProcStat("intr 1\n")).toBeNull();
});

test("hostCpuPercent: from deltas, since boot without a previous reading, never out of 0..100", () => {
  expect(hostCpuPercent({ busy: 100, total: 1000 }, { busy: 150, total: 1100 })).toBe(50);
  expect(hostCpuPercent(null, { busy: 250, total: 1000 })).toBe(25);
  expect(hostCpuPercent({ busy: 100, total: 1000 }, { busy: 100, total: 1000 })).toBe(0);
  expect(hostCpuPercent({ busy: 200, total: 1000 }, { busy: 100, total: 1100 })).toBe(0);
});

test("parseMeminfo: used = total − available (or free + buffers + cached on old kernels)", () => {
  expect(parseMeminfo(MEMINFO)).toEqual({ used: (24683656 - 23440192) * 1024, total: 24683656 * 1024 });
  const old = MEMINFO.replace(/^MemAvailable.*\n/m, "");
  expect(parseMeminfo(old)).toEqual({ used: (24683656 - 22047264 - 123456 - 1000000) * 1024, total: 24683656 * 1024 });
  expect(parseMeminfo("")).toBeNull();
});

test("diskFromStatfs: df's figures (reserved blocks are neither used nor available)", () => {
  expect(diskFromStatfs({ bsize: 4096, blocks: 1000, bfree: 300, bavail: 250 })).toEqual({ used: 700 * 4096, total: 950 * 4096 });
});

test("readHost: real /proc and statfs give sane figures", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wh-stats-"));
  try {
    const h = await readHost(dir);
    expect(h.memTotal).toBeGreaterThan(0);
    expect(h.memUsed).toBeGreaterThan(0);
    expect(h.memUsed).toBeLessThanOrEqual(h.memTotal);
    expect(h.diskTotal).toBeGreaterThan(0);
    expect(h.diskUsed).toBeLessThanOrEqual(h.diskTotal);
    expect(h.cpu!.total).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const reading = (over: Partial<ContainerReading> = {}): ContainerReading => ({
  containerId: "c1",
  deploymentId: "d1",
  cpuNanos: 0,
  readAtNanos: null,
  cpuPercent: 7,
  memBytes: 1000,
  memLimitBytes: 64 * 1024 * 1024,
  netRxBytes: 10,
  netTxBytes: 20,
  blkReadBytes: 0,
  blkWriteBytes: 0,
  restarts: 0,
  ...over,
});

test("containerCpuPercent: cumulative CPU time over elapsed time; podman's figure without a usable mark", () => {
  // 2.5 s of CPU in 10 s = 25 % of one core.
  expect(containerCpuPercent({ cpuNanos: 1e9, atNanos: 0 }, reading({ cpuNanos: 3.5e9, readAtNanos: 10e9 }), 0)).toBe(25);
  // The wall clock when podman gives no read time.
  expect(containerCpuPercent({ cpuNanos: 0, atNanos: 0 }, reading({ cpuNanos: 20e9 }), 10e9)).toBe(200);
  expect(containerCpuPercent(undefined, reading(), 10e9)).toBe(7);
  // Counter went backwards (restarted): podman's figure.
  expect(containerCpuPercent({ cpuNanos: 5e9, atNanos: 0 }, reading({ cpuNanos: 1e9, readAtNanos: 10e9 }), 0)).toBe(7);
});

function fakeSources() {
  let clock = 1_000_000;
  let cpu = 0;
  let hostBusy = 0;
  let hostTotal = 0;
  let podmanFails = false;
  const state = {
    advance(ms: number, cpuNs: number) {
      clock += ms;
      cpu += cpuNs;
      hostBusy += 30;
      hostTotal += 100;
    },
    set podmanFails(v: boolean) {
      podmanFails = v;
    },
    now: () => clock,
    sources: {
      async containers(): Promise<ContainerReading[]> {
        if (podmanFails) throw new Error("podman exploded");
        return [reading({ cpuNanos: cpu, readAtNanos: clock * 1e6, netRxBytes: clock })];
      },
      async host(): Promise<HostReading> {
        return { cpu: { busy: hostBusy, total: hostTotal }, memUsed: 5, memTotal: 10, diskUsed: 1, diskTotal: 2 };
      },
    },
  };
  return state;
}

test("sampler: a sample per tick, sent as valid stats messages, CPU from deltas", async () => {
  const f = fakeSources();
  const sent: StatsBody[] = [];
  const s = new StatsSampler({ sources: f.sources, send: (b) => (sent.push(b), true), now: f.now, intervalMs: 1_000_000 });
  s.start();
  await Bun.sleep(5); // the baseline reading
  f.advance(10_000, 5e9); // 5 s of CPU in 10 s
  await s.tick();
  f.advance(10_000, 1e9);
  await s.tick();
  s.stop();
  expect(sent).toHaveLength(2);
  for (const b of sent) expect(statsMsg.safeParse(b).success).toBe(true);
  expect(sent[0]!.samples[0]!.containers[0]!.cpu_percent).toBeCloseTo(50, 6);
  expect(sent[1]!.samples[0]!.containers[0]!.cpu_percent).toBeCloseTo(10, 6);
  expect(sent[0]!.samples[0]!.host).toEqual({ cpu_percent: 30, mem_used_bytes: 5, mem_total_bytes: 10, disk_used_bytes: 1, disk_total_bytes: 2 });
  expect(sent[1]!.samples[0]!.at - sent[0]!.samples[0]!.at).toBe(10_000);
});

test("sampler: while sending fails, samples wait (newest 60) and go out together", async () => {
  const f = fakeSources();
  let up = false;
  const sent: StatsBody[] = [];
  const s = new StatsSampler({ sources: f.sources, send: (b) => up && (sent.push(b), true), now: f.now, intervalMs: 1_000_000 });
  for (let i = 0; i < MAX_BUFFERED_SAMPLES + 5; i++) {
    f.advance(10_000, 1e8);
    await s.tick();
  }
  expect(sent).toHaveLength(0);
  expect(s.pending).toBe(MAX_BUFFERED_SAMPLES);
  up = true;
  f.advance(10_000, 1e8);
  await s.tick();
  expect(sent).toHaveLength(1);
  expect(sent[0]!.samples).toHaveLength(MAX_BUFFERED_SAMPLES);
  expect(statsMsg.safeParse(sent[0]).success).toBe(true);
  const ats = sent[0]!.samples.map((x) => x.at);
  expect(ats).toEqual([...ats].sort((a, b) => a - b));
  expect(s.pending).toBe(0);
});

test("sampler: sendEvery batches several samples into one message", async () => {
  const f = fakeSources();
  const sent: StatsBody[] = [];
  const s = new StatsSampler({ sources: f.sources, send: (b) => (sent.push(b), true), now: f.now, sendEvery: 3, intervalMs: 1_000_000 });
  for (let i = 0; i < 6; i++) {
    f.advance(10_000, 1e8);
    await s.tick();
  }
  expect(sent.map((b) => b.samples.length)).toEqual([3, 3]);
});

test("sampler: a podman failure still sends the host part, with no containers", async () => {
  const f = fakeSources();
  f.podmanFails = true;
  const sent: StatsBody[] = [];
  const s = new StatsSampler({ sources: f.sources, send: (b) => (sent.push(b), true), now: f.now, intervalMs: 1_000_000 });
  f.advance(10_000, 0);
  await s.tick();
  expect(sent[0]!.samples[0]!.containers).toEqual([]);
  expect(sent[0]!.samples[0]!.host.mem_total_bytes).toBe(10);
});

test("sampler: start and stop are idempotent and stop the timer", async () => {
  const f = fakeSources();
  const sent: StatsBody[] = [];
  const s = new StatsSampler({ sources: f.sources, send: (b) => (sent.push(b), true), now: f.now, intervalMs: 20 });
  s.start();
  s.start();
  expect(s.running).toBe(true);
  await Bun.sleep(90);
  s.stop();
  s.stop();
  expect(s.running).toBe(false);
  const n = sent.length;
  expect(n).toBeGreaterThan(0);
  await Bun.sleep(60);
  expect(sent.length).toBe(n);
});

test("sampler: a backlog too big for one message goes out in several, each under the size limit, in order", async () => {
  const many = Array.from({ length: 400 }, (_, i) => reading({ containerId: `c${i}`, deploymentId: `d${String(i).padStart(34, "0")}` }));
  let clock = 0;
  const sources = {
    containers: async () => many,
    host: async (): Promise<HostReading> => ({ cpu: null, memUsed: 1, memTotal: 2, diskUsed: 1, diskTotal: 2 }),
  };
  let up = false;
  const sent: StatsBody[] = [];
  const s = new StatsSampler({ sources, send: (b) => up && (sent.push(b), true), now: () => (clock += 10_000), intervalMs: 1_000_000 });
  for (let i = 0; i < 30; i++) await s.tick();
  up = true;
  expect(s.flush()).toBe(true);
  expect(sent.length).toBeGreaterThan(1);
  for (const b of sent) {
    expect(JSON.stringify(b).length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 100);
    expect(statsMsg.safeParse(b).success).toBe(true);
  }
  const ats = sent.flatMap((b) => b.samples.map((x) => x.at));
  expect(ats).toHaveLength(30);
  expect(ats).toEqual([...ats].sort((a, b) => a - b));
});
