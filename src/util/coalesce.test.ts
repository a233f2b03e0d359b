import { expect, test } from "bun:test";
import { coalesced } from "./coalesce";

test("calls during a run collapse into one more run", async () => {
  let runs = 0;
  const run = coalesced(async () => {
    runs++;
    await Bun.sleep(20);
  }, "t");
  await Promise.all([run(), run(), run(), run()]);
  expect(runs).toBe(2);
  await run();
  expect(runs).toBe(3);
});

test("a failing run is logged, not thrown, and the next call runs again", async () => {
  let runs = 0;
  const run = coalesced(async () => {
    runs++;
    throw new Error("boom");
  }, "t");
  await run();
  await run();
  expect(runs).toBe(2);
});
