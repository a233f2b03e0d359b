import { expect, test } from "bun:test";
import { JobQueue } from "./job-queue";

const tick = (ms: number) => Bun.sleep(ms);

test("jobs of one deployment run in order; other deployments run alongside", async () => {
  const q = new JobQueue();
  const events: string[] = [];
  const job = (name: string, ms: number) => async () => {
    events.push(`${name}:start`);
    await tick(ms);
    events.push(`${name}:end`);
  };
  void q.enqueue("a", job("a1", 30));
  void q.enqueue("a", job("a2", 1));
  void q.enqueue("b", job("b1", 1));
  await q.idle();
  expect(events.indexOf("a2:start")).toBeGreaterThan(events.indexOf("a1:end"));
  expect(events.indexOf("b1:end")).toBeLessThan(events.indexOf("a1:end"));
  expect(q.size).toBe(0);
});

test("an error is reported and doesn't block the next job", async () => {
  const q = new JobQueue();
  const errors: unknown[] = [];
  let ran = false;
  void q.enqueue("a", async () => Promise.reject(new Error("boom")), (e) => errors.push(e));
  await q.enqueue("a", async () => {
    ran = true;
  });
  expect(errors).toHaveLength(1);
  expect(ran).toBe(true);
});

test("cancelRunning aborts only the running job of that key", async () => {
  const q = new JobQueue();
  const seen: string[] = [];
  void q.enqueue("a", async (signal) => {
    await new Promise<void>((r) => signal.addEventListener("abort", () => r()));
    seen.push(`first aborted: ${signal.reason}`);
  });
  void q.enqueue("a", async (signal) => {
    seen.push(`second aborted: ${signal.aborted}`);
  });
  await tick(5);
  q.cancelRunning("b");
  q.cancelRunning("a", "job.stop received");
  await q.idle();
  expect(seen).toEqual(["first aborted: job.stop received", "second aborted: false"]);
});

test("cancelAll aborts running jobs and skips queued ones", async () => {
  const q = new JobQueue();
  let secondRan = false;
  void q.enqueue("a", (signal) => new Promise<void>((r) => signal.addEventListener("abort", () => r())));
  void q.enqueue("a", async () => {
    secondRan = true;
  });
  await tick(5);
  q.cancelAll();
  await q.idle();
  expect(secondRan).toBe(false);
});
