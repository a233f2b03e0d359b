/** Golden tests: argv argument by argument, and parsers against output captured from podman 4.3.1. */
import { expect, test } from "bun:test";
import {
  inspectRestartsArgs,
  parseGoDuration,
  parseInspectRestarts,
  parsePsStats,
  parseSize,
  parseSizePair,
  parseStats,
  psStatsArgs,
  sameContainerId,
  statsArgs,
} from "./stats";

// `podman stats --no-stream --no-trunc --format '{{json .ContainerStats}}'` (podman 4.3.1), two containers.
const RAW = `{"AvgCPU":0.02315964471158059,"ContainerID":"c9cc54df00e28d0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58","Name":"wh-statsprobe","PerCPU":[22861145,2696391],"CPU":0.02315964471158059,"CPUNano":25557536,"CPUSystemNano":0,"SystemNano":1795398620238092619,"MemUsage":901120,"MemLimit":67108864,"MemPerc":1.3427734375,"NetInput":4030,"NetOutput":4865,"BlockInput":0,"BlockOutput":0,"PIDs":2,"UpTime":25557536,"Duration":25557536}
{"AvgCPU":1.5,"ContainerID":"60d73facb5d8aa0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58","Name":"wh-other","PerCPU":null,"CPU":1.5,"CPUNano":3000000000,"CPUSystemNano":0,"SystemNano":1795398620238092700,"MemUsage":12345678901,"MemLimit":17179869184,"MemPerc":71.8,"NetInput":98765432109,"NetOutput":123,"BlockInput":4096,"BlockOutput":8192,"PIDs":9,"UpTime":3000000000,"Duration":3000000000}
`;

// `podman stats --no-stream --format json` (podman 4.3.1).
const HUMAN = `[
 {
  "id": "c9cc54df00e2",
  "name": "wh-statsprobe",
  "cpu_time": "25.557536ms",
  "cpu_percent": "2.10%",
  "avg_cpu": "2.10%",
  "mem_usage": "1.098MB / 67.11MB",
  "mem_percent": "1.64%",
  "net_io": "3.388kB / 3.427kB",
  "block_io": "0B / 0B",
  "pids": "2"
 }
]
`;

// `podman ps --filter label=wh.worker=statsprobe --format json` (podman 4.3.1: no Restarts field), trimmed.
const PS_43 = `[
  {
    "AutoRemove": false,
    "Command": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"],
    "Exited": false,
    "ExitCode": 0,
    "Id": "c9cc54df00e28d0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58",
    "Image": "localhost/wh-test-busybox:latest",
    "Labels": { "wh.deployment": "dep1", "wh.project": "p1", "wh.worker": "statsprobe" },
    "Names": ["wh-statsprobe"],
    "Ports": [{ "host_ip": "127.0.0.1", "container_port": 8080, "host_port": 46175, "range": 1, "protocol": "tcp" }],
    "State": "running",
    "Status": "Up 2 seconds ago"
  },
  { "Id": "abc", "Names": ["not-ours"], "State": "running", "Labels": { "other": "x" } }
]`;

// Newer podman (≥ 4.6) lists Restarts in ps.
const PS_NEW = `[{"Id":"c9cc54df00e2","Names":["wh-d2"],"State":"running","Restarts":4,"Labels":{"wh.deployment":"d2","wh.project":"p2","wh.worker":"w"}}]`;

test("statsArgs: no stream, untruncated, raw counters template (or json)", () => {
  expect(statsArgs()).toEqual(["podman", "stats", "--no-stream", "--no-trunc", "--format", "{{json .ContainerStats}}"]);
  expect(statsArgs("json")).toEqual(["podman", "stats", "--no-stream", "--no-trunc", "--format", "json"]);
});

test("psStatsArgs: running containers of this worker only, as JSON", () => {
  expect(psStatsArgs("w-1")).toEqual(["podman", "ps", "--filter", "label=wh.worker=w-1", "--format", "json"]);
});

test("inspectRestartsArgs: `--` before the names", () => {
  expect(inspectRestartsArgs(["wh-a", "wh-b"])).toEqual(["podman", "container", "inspect", "--format", "{{.ID}} {{.RestartCount}}", "--", "wh-a", "wh-b"]);
});

test("parseStats: raw counters, exact", () => {
  expect(parseStats(RAW)).toEqual([
    {
      id: "c9cc54df00e28d0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58",
      name: "wh-statsprobe",
      cpuNanos: 25557536,
      systemNanos: 1795398620238092619,
      cpuPercent: 0.02315964471158059,
      memBytes: 901120,
      memLimitBytes: 67108864,
      netRxBytes: 4030,
      netTxBytes: 4865,
      blkReadBytes: 0,
      blkWriteBytes: 0,
    },
    {
      id: "60d73facb5d8aa0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58",
      name: "wh-other",
      cpuNanos: 3000000000,
      systemNanos: 1795398620238092700,
      cpuPercent: 1.5,
      memBytes: 12345678901,
      memLimitBytes: 17179869184,
      netRxBytes: 98765432109,
      netTxBytes: 123,
      blkReadBytes: 4096,
      blkWriteBytes: 8192,
    },
  ]);
});

test("parseStats: the human --format json array", () => {
  expect(parseStats(HUMAN)).toEqual([
    {
      id: "c9cc54df00e2",
      name: "wh-statsprobe",
      cpuNanos: 25557536,
      systemNanos: null,
      cpuPercent: 2.1,
      memBytes: 1098000,
      memLimitBytes: 67110000,
      netRxBytes: 3388,
      netTxBytes: 3427,
      blkReadBytes: 0,
      blkWriteBytes: 0,
    },
  ]);
});

test("parseStats: empty output, foreign entries skipped, garbage throws", () => {
  expect(parseStats("")).toEqual([]);
  expect(parseStats("[]")).toEqual([]);
  expect(parseStats('{"nothing":"here"}\n')).toEqual([]);
  expect(() => parseStats("Error: something")).toThrow();
});

test("parseSize / parseSizePair: decimal and binary units", () => {
  expect(parseSize("0B")).toBe(0);
  expect(parseSize("901.1kB")).toBe(901100);
  expect(parseSize("67.11MB")).toBe(67110000);
  expect(parseSize("1.5GB")).toBe(1500000000);
  expect(parseSize("2KiB")).toBe(2048);
  expect(parseSize("12 MiB")).toBe(12 * 1024 * 1024);
  expect(parseSize("1.2.3MB")).toBeNull();
  expect(parseSize("5 parsecs")).toBeNull();
  expect(parseSizePair("3.388kB / 3.427kB")).toEqual([3388, 3427]);
  expect(parseSizePair("--")).toEqual([0, 0]);
  expect(parseSizePair(undefined)).toEqual([0, 0]);
});

test("parseGoDuration: Go's time.Duration strings", () => {
  expect(parseGoDuration("25.557536ms")).toBe(25557536);
  expect(parseGoDuration("1m2.5s")).toBe(62.5e9);
  expect(parseGoDuration("1h0m3s")).toBe(3603e9);
  expect(parseGoDuration("500µs")).toBe(500000);
  expect(parseGoDuration("42ns")).toBe(42);
  expect(parseGoDuration("0s")).toBe(0);
  expect(parseGoDuration("3 s")).toBeNull();
  expect(parseGoDuration("soon")).toBeNull();
});

test("parsePsStats: labelled containers only; restarts when podman lists them", () => {
  expect(parsePsStats(PS_43)).toEqual([
    {
      id: "c9cc54df00e28d0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58",
      name: "wh-statsprobe",
      deploymentId: "dep1",
      projectId: "p1",
      state: "running",
      restarts: null,
    },
  ]);
  expect(parsePsStats(PS_NEW)).toEqual([{ id: "c9cc54df00e2", name: "wh-d2", deploymentId: "d2", projectId: "p2", state: "running", restarts: 4 }]);
  expect(parsePsStats("")).toEqual([]);
});

test("parseInspectRestarts: id → count, other lines ignored", () => {
  const out = parseInspectRestarts("c9cc54df00e28d0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58 3\nError: no such container wh-x\n60d73facb5d8 0\n");
  expect([...out]).toEqual([
    ["c9cc54df00e28d0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58", 3],
    ["60d73facb5d8", 0],
  ]);
});

test("sameContainerId: full and short ids", () => {
  expect(sameContainerId("c9cc54df00e2", "c9cc54df00e28d0c721faf55e928b2a73e6be718656f7fbbcc414ac873064e58")).toBe(true);
  expect(sameContainerId("c9cc54df00e28d0c", "c9cc54df00e2")).toBe(true);
  expect(sameContainerId("60d73facb5d8", "c9cc54df00e2")).toBe(false);
  expect(sameContainerId("", "c9cc54df00e2")).toBe(false);
});
