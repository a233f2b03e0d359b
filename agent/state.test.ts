import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadState, newApiKey, saveState, statePath } from "./state";

const root = await mkdtemp(join(tmpdir(), "wh-agent-state-"));
afterAll(() => rm(root, { recursive: true, force: true }));

test("no state yet is null; saved state loads back with 0700/0600 modes", async () => {
  const dir = join(root, "a", "state");
  expect(await loadState(dir)).toBeNull();
  const state = { worker_id: "3f9f1f4e-5b2a-4c1e-9d7a-1b2c3d4e5f60", api_key: newApiKey() };
  await saveState(dir, state);
  expect(await loadState(dir)).toEqual(state);
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
  expect((await stat(statePath(dir))).mode & 0o777).toBe(0o600);
  await saveState(dir, { ...state, worker_id: null });
  expect((await loadState(dir))?.worker_id).toBeNull();
});

test("api keys are 32 random bytes in hex", () => {
  const k = newApiKey();
  expect(k).toMatch(/^[0-9a-f]{64}$/);
  expect(newApiKey()).not.toBe(k);
});

test("a corrupt state file is an error naming the file", async () => {
  const dir = join(root, "b");
  await saveState(dir, { worker_id: null, api_key: newApiKey() });
  await writeFile(statePath(dir), "{oops");
  expect(loadState(dir)).rejects.toThrow(statePath(dir));
  await writeFile(statePath(dir), JSON.stringify({ worker_id: "x", api_key: "short" }));
  expect(loadState(dir)).rejects.toThrow(/worker_id and api_key/);
});
