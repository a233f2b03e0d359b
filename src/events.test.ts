import { expect, test } from "bun:test";
import { Events } from "./events";

test("emitAndWait resolves after async listeners finish; a failing listener doesn't stop the others", async () => {
  const ev = new Events();
  const done: string[] = [];
  ev.on("routes", async () => {
    await Bun.sleep(30);
    done.push("slow");
  });
  ev.on("routes", () => {
    throw new Error("boom");
  });
  ev.on("routes", () => void done.push("sync"));
  await ev.emitAndWait("routes", {});
  expect(done.sort()).toEqual(["slow", "sync"]);
});

test("off() unsubscribes", () => {
  const ev = new Events();
  let n = 0;
  const off = ev.on("schedule", () => void n++);
  ev.emit("schedule", {});
  off();
  ev.emit("schedule", {});
  expect(n).toBe(1);
});
