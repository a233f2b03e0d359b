import { expect, test } from "bun:test";
import { hostname } from "node:os";
import { helpText, parseConfig, sanitizeName } from "./config";

const hub = { WH_HUB_URL: "http://127.0.0.1:8080/" };

test("defaults", () => {
  const r = parseConfig([], hub);
  expect(r.kind).toBe("ok");
  if (r.kind !== "ok") return;
  expect(r.config.hubUrl).toBe("http://127.0.0.1:8080");
  expect(r.config.workerSecret).toBeUndefined();
  expect(r.config.workerName).toBe(sanitizeName(hostname()));
  expect(r.config.stateDir).toBe(`${process.cwd()}/wisehosting-agent-state`);
  expect(r.config.workDir).toBe(`${process.cwd()}/wisehosting-agent-state/work`);
  expect(r.config.advertiseAddr).toBe("127.0.0.1");
  expect(r.config.memoryMb).toBeGreaterThan(0);
  expect(r.config.buildMemoryMb).toBe(1024);
  expect(r.config.buildCpus).toBe(1);
  expect(r.config.maxConcurrentBuilds).toBe(2);
});

test("WH_MAX_CONCURRENT_BUILDS", () => {
  const r = parseConfig(["--max-concurrent-builds", "3"], { ...hub, WH_MAX_CONCURRENT_BUILDS: "1" });
  expect(r.kind === "ok" && r.config.maxConcurrentBuilds).toBe(3);
  const env = parseConfig([], { ...hub, WH_MAX_CONCURRENT_BUILDS: "1" });
  expect(env.kind === "ok" && env.config.maxConcurrentBuilds).toBe(1);
  for (const bad of ["0", "-1", "1.5", "x", "65"]) {
    const e = parseConfig([], { ...hub, WH_MAX_CONCURRENT_BUILDS: bad });
    expect(e.kind === "error" && e.message).toMatch(/^WH_MAX_CONCURRENT_BUILDS \(--max-concurrent-builds\) /);
  }
});

test("env values, and flags overriding them", () => {
  const env = {
    ...hub,
    WH_WORKER_SECRET: "cluster-secret",
    WH_WORKER_NAME: "w-1",
    WH_WORKER_STATE_DIR: "/var/lib/wh",
    WH_WORKER_ADVERTISE_ADDR: "10.0.0.5",
    WH_WORKER_MEMORY_MB: "2048",
    WH_BUILD_MEMORY_MB: "512",
    WH_BUILD_CPUS: "0.5",
  };
  const r = parseConfig(["--worker-name", "w-2", "--build-cpus=2", "--work-dir", "/srv/work"], env);
  if (r.kind !== "ok") throw new Error(JSON.stringify(r));
  expect(r.config).toMatchObject({
    workerName: "w-2",
    stateDir: "/var/lib/wh",
    workDir: "/srv/work",
    advertiseAddr: "10.0.0.5",
    memoryMb: 2048,
    buildMemoryMb: 512,
    buildCpus: 2,
  });
  expect(r.config.workerSecret?.reveal()).toBe("cluster-secret");
  expect(JSON.stringify(r.config)).not.toContain("cluster-secret");
});

test("bad values fail with one line naming the variable", () => {
  const cases: [Record<string, string>, string[], RegExp][] = [
    [{}, [], /^WH_HUB_URL \(--hub-url\) is required$/],
    [{ WH_HUB_URL: "ftp://x" }, [], /^WH_HUB_URL .*http/],
    [{ WH_HUB_URL: "http://u:p@x" }, [], /^WH_HUB_URL /],
    [hub, ["--hub-url", "nope"], /^WH_HUB_URL /],
    [{ ...hub, WH_WORKER_NAME: "Bad_Name" }, [], /^WH_WORKER_NAME /],
    [{ ...hub, WH_WORKER_ADVERTISE_ADDR: "example.com" }, [], /^WH_WORKER_ADVERTISE_ADDR .*IP/],
    [{ ...hub, WH_WORKER_ADVERTISE_ADDR: "0.0.0.0" }, [], /^WH_WORKER_ADVERTISE_ADDR /],
    [{ ...hub, WH_WORKER_MEMORY_MB: "lots" }, [], /^WH_WORKER_MEMORY_MB .*number/],
    [{ ...hub, WH_WORKER_MEMORY_MB: "1.5" }, [], /^WH_WORKER_MEMORY_MB .*whole/],
    [{ ...hub, WH_BUILD_MEMORY_MB: "-1" }, [], /^WH_BUILD_MEMORY_MB .*positive/],
    [{ ...hub, WH_BUILD_CPUS: "0" }, [], /^WH_BUILD_CPUS .*positive/],
    [hub, ["--nope"], /unknown argument/],
    [hub, ["--worker-secret", "x"], /unknown argument/], // secrets never on the command line
    [hub, ["--worker-name"], /needs a value/],
  ];
  for (const [env, argv, msg] of cases) {
    const r = parseConfig(argv, env);
    expect(r.kind).toBe("error");
    if (r.kind === "error") {
      expect(r.message).toMatch(msg);
      expect(r.message).not.toContain("\n");
    }
  }
});

test("--help lists every variable and flag; --version", () => {
  const r = parseConfig(["--help"], {});
  expect(r.kind).toBe("help");
  const text = helpText();
  for (const name of [
    "WH_HUB_URL",
    "WH_WORKER_SECRET",
    "WH_WORKER_NAME",
    "WH_WORKER_STATE_DIR",
    "WH_WORKER_ADVERTISE_ADDR",
    "WH_WORKER_MEMORY_MB",
    "WH_WORKER_WORK_DIR",
    "WH_BUILD_MEMORY_MB",
    "WH_BUILD_CPUS",
    "--hub-url",
    "--version",
    "(default: 1024)",
    "<state dir>/work",
  ]) {
    expect(text).toContain(name);
  }
  expect(parseConfig(["--version"], {})).toEqual({ kind: "version", text: expect.stringMatching(/^wisehosting-agent \d/) });
});

test("sanitizeName", () => {
  expect(sanitizeName("Worker_01.example.COM")).toBe("worker-01-example-com");
  expect(sanitizeName("--a--b--")).toBe("a-b");
  expect(sanitizeName("___")).toBe("worker");
  expect(sanitizeName("x".repeat(80))).toHaveLength(63);
});
