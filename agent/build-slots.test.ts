import { expect, test } from "bun:test";
import { BuildSlots } from "./build-slots";

test("at most N holders; waiters go in order, each told once that it waits", async () => {
  const slots = new BuildSlots(1);
  const waits: string[] = [];
  const order: string[] = [];
  const r1 = await slots.acquire(undefined, () => waits.push("a"));
  expect(slots.available).toBe(0);
  const b = slots.acquire(undefined, () => waits.push("b")).then((r) => (order.push("b"), r));
  const c = slots.acquire(undefined, () => waits.push("c")).then((r) => (order.push("c"), r));
  await Bun.sleep(5);
  expect(waits).toEqual(["b", "c"]);
  expect(order).toEqual([]);
  r1();
  r1(); // twice is harmless
  const r2 = await b;
  await Bun.sleep(5);
  expect(order).toEqual(["b"]);
  r2();
  (await c)();
  expect(slots.available).toBe(1);
});

test("two slots: two run at once", async () => {
  const slots = new BuildSlots(2);
  const a = await slots.acquire();
  const b = await slots.acquire();
  expect(slots.available).toBe(0);
  a();
  b();
  expect(slots.available).toBe(2);
});

test("an abort while waiting gives up the place in line", async () => {
  const slots = new BuildSlots(1);
  const r1 = await slots.acquire();
  const ac = new AbortController();
  const waiting = slots.acquire(ac.signal);
  ac.abort();
  await expect(waiting).rejects.toThrow("cancelled");
  r1();
  expect(slots.available).toBe(1);
  expect(() => new BuildSlots(0)).toThrow();
});
