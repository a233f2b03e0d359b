import { expect, test } from "bun:test";
import { Outbox, type OutMessage } from "./outbox";

function harness(opts: ConstructorParameters<typeof Outbox>[1] = {}) {
  const sent: OutMessage[] = [];
  let online = true;
  const box = new Outbox((m) => (online ? (sent.push(m), true) : false), opts);
  return { box, sent, setOnline: (v: boolean) => (online = v) };
}

test("statuses go at once; log lines are batched per deployment and stream", async () => {
  const { box, sent } = harness({ flushMs: 20 });
  box.log("d1", "build", "a");
  box.log("d1", "build", "b");
  box.log("d1", "runtime", "r");
  box.log("d2", "build", "x");
  expect(sent).toEqual([]);
  await Bun.sleep(50);
  expect(sent).toEqual([
    { type: "log", body: { deployment_id: "d1", stream: "build", lines: ["a", "b"] } },
    { type: "log", body: { deployment_id: "d1", stream: "runtime", lines: ["r"] } },
    { type: "log", body: { deployment_id: "d2", stream: "build", lines: ["x"] } },
  ]);
});

test("a full batch is sent without waiting", () => {
  const { box, sent } = harness({ flushMs: 10_000, maxLines: 3 });
  for (const l of ["1", "2", "3", "4"]) box.log("d1", "build", l);
  expect(sent).toEqual([{ type: "log", body: { deployment_id: "d1", stream: "build", lines: ["1", "2", "3"] } }]);
  box.close();
  expect(sent).toHaveLength(2);
});

test("a status flushes its deployment's lines first, so logs precede it", () => {
  const { box, sent } = harness({ flushMs: 10_000 });
  box.log("d1", "build", "last build line");
  box.log("d2", "build", "other");
  box.status({ deployment_id: "d1", status: "failed", error: "x" });
  expect(sent.map((m) => m.type)).toEqual(["log", "job.status"]);
  expect(sent[0]!.body.deployment_id).toBe("d1");
  box.close();
});

test("offline: messages wait in order and are resent; new ones don't overtake", () => {
  const { box, sent, setOnline } = harness({ flushMs: 10_000 });
  setOnline(false);
  box.status({ deployment_id: "d1", status: "building", commit_sha: "c" });
  box.log("d1", "build", "l");
  box.status({ deployment_id: "d1", status: "starting" });
  expect(box.pendingCount).toBe(3);
  setOnline(true);
  box.resend();
  box.status({ deployment_id: "d1", status: "running", host_port: 1 });
  expect(sent.map((m) => (m.type === "job.status" ? m.body.status : "log"))).toEqual(["building", "log", "starting", "running"]);
  expect(box.pendingCount).toBe(0);
});

test("the offline queue is bounded; log batches are dropped before statuses", () => {
  const dropped: OutMessage[] = [];
  const { box, setOnline } = harness({ flushMs: 10_000, maxLines: 1, maxPending: 3, onDrop: (m) => dropped.push(m) });
  setOnline(false);
  box.status({ deployment_id: "d1", status: "building" });
  box.log("d1", "build", "1");
  box.status({ deployment_id: "d1", status: "starting" });
  box.status({ deployment_id: "d1", status: "running" });
  expect(dropped.map((m) => m.type)).toEqual(["log"]);
  box.status({ deployment_id: "d1", status: "stopped" });
  expect(dropped.map((m) => m.type)).toEqual(["log", "job.status"]);
  expect(box.pendingCount).toBe(3);
});
