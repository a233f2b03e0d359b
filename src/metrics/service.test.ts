import { expect, test } from "bun:test";
import { counterDelta, MAX_POINTS, resolveWindow, sampleInterval } from "./service";
import { metricsQuery, stepSeconds } from "./model";

const NOW = Date.parse("2026-03-10T12:34:56Z");
const iso = (ms: number) => new Date(ms).toISOString();

test("counterDelta: the increase, or everything after a reset", () => {
  expect(counterDelta(500, null)).toBe(500);
  expect(counterDelta(1500, 1000)).toBe(500);
  expect(counterDelta(1000, 1000)).toBe(0);
  expect(counterDelta(200, 1000)).toBe(200);
});

test("sampleInterval: the gap to the previous sample, nominal 10 s without one close enough", () => {
  expect(sampleInterval(10_000, null)).toBe(10);
  expect(sampleInterval(20_000, 10_000)).toBe(10);
  expect(sampleInterval(22_500, 10_000)).toBe(12.5);
  expect(sampleInterval(10_000 + 61_000, 10_000)).toBe(10);
  expect(sampleInterval(10_000, 10_000)).toBe(10);
});

test("step texts", () => {
  expect(["10", "10s", "5m", "1h", "2d"].map(stepSeconds)).toEqual([10, 10, 300, 3600, 172800]);
  for (const bad of ["0", "-5", "5x", "1.5m", "", "10 s"]) expect(metricsQuery.safeParse({ step: bad }).success).toBe(false);
  expect(metricsQuery.safeParse({ surprise: "1" }).success).toBe(false);
});

test("resolveWindow: the last hour by default, at an automatic step from raw samples", () => {
  const w = resolveWindow({}, NOW);
  expect(w.source).toBe("raw");
  expect(w.step).toBe(10);
  expect(w.to.getTime()).toBe(NOW);
  expect(w.from.getTime()).toBe(Math.floor((NOW - 3600_000) / 10_000) * 10_000);
  expect(w.points).toBeLessThanOrEqual(361);
});

test("resolveWindow: the finest source that holds the window at the step", () => {
  const at = (fromAgoMs: number, step?: string) => resolveWindow({ from: iso(NOW - fromAgoMs), to: iso(NOW), step }, NOW);
  expect(at(6 * 3600_000)).toMatchObject({ source: "minute", step: 60 });
  expect(at(3 * 3600_000, "10s")).toMatchObject({ source: "raw", step: 10 });
  expect(at(3 * 3600_000, "15s")).toMatchObject({ source: "raw", step: 20 });
  expect(at(24.5 * 3600_000, "10s")).toMatchObject({ source: "minute", step: 60 });
  expect(at(7 * 86400_000)).toMatchObject({ source: "minute", step: 1800 });
  expect(at(30 * 86400_000)).toMatchObject({ source: "hour", step: 7200 });
  expect(at(20 * 86400_000, "90s")).toMatchObject({ source: "hour", step: 3600 });
  expect(at(3600_000, "90s")).toMatchObject({ source: "minute", step: 120 });
  const w = at(86400_000, "5m");
  expect(w.from.getTime() % (300 * 1000)).toBe(0);
});

test("resolveWindow: refuses reversed, over-long and over-dense windows", () => {
  expect(() => resolveWindow({ from: iso(NOW), to: iso(NOW - 1) }, NOW)).toThrow(/from: must be before to/);
  expect(() => resolveWindow({ from: iso(NOW - 401 * 86400_000), to: iso(NOW) }, NOW)).toThrow(/400 days/);
  expect(() => resolveWindow({ from: iso(NOW - 10 * 3600_000), to: iso(NOW), step: "10s" }, NOW)).toThrow(new RegExp(`at most ${MAX_POINTS}`));
});
