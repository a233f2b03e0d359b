/**
 * postgres.js is patched (patches/postgres@3.4.9.patch) because its query
 * queue slowed every query down under sustained load. This checks the patch is
 * applied and the queue stays a correct FIFO with removals.
 */
import { expect, test } from "bun:test";
// @ts-ignore: an internal module of postgres.js, without types
import Queue from "../../node_modules/postgres/src/queue.js";

test("the queue stays FIFO, removes the right entry and doesn't grow while never empty", () => {
  const q = Queue();
  for (let i = 0; i < 3; i++) q.push(i);
  let next = 3;
  const t0 = performance.now();
  for (let i = 0; i < 200_000; i++) {
    q.push(next++);
    q.shift();
    const extra = { n: i };
    q.push(extra);
    expect(q.remove(extra)).toBe(extra);
  }
  expect(performance.now() - t0).toBeLessThan(2000);
  expect(q.length).toBe(3);
  expect([q.shift(), q.shift(), q.shift()]).toEqual([next - 3, next - 2, next - 1]);
  expect(q.length).toBe(0);
  expect(q.remove({})).toBeNull();
});
