import { expect, test } from "bun:test";
import { TRANSITIONS } from "./queries";

test("the state machine: queued → building → starting → running | failed; running → stopped | superseded", () => {
  expect(TRANSITIONS.building).toEqual(["queued"]);
  expect(TRANSITIONS.starting).toEqual(["building", "stopped"]);
  expect(TRANSITIONS.running).toEqual(["starting"]);
  expect(TRANSITIONS.failed).not.toContain("stopped");
  expect(TRANSITIONS.failed).not.toContain("superseded");
  expect(TRANSITIONS.stopped).toContain("running");
  expect(TRANSITIONS.superseded).toContain("running");
  // Nothing re-enters queued, and terminal states are never left.
  expect(TRANSITIONS.queued).toEqual([]);
  for (const from of Object.values(TRANSITIONS)) expect(from).not.toContain("failed");
  for (const from of Object.values(TRANSITIONS)) expect(from).not.toContain("superseded");
});
