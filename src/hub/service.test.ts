import { expect, test } from "bun:test";
import { Hub, type HubSocket } from "./service";
import { macKeyFromApiKey, NonceCache, open } from "../protocol/hub";

function fakeSocket() {
  const sent: string[] = [];
  const closes: [number | undefined, string | undefined][] = [];
  const ws: HubSocket = { send: (d: string) => sent.push(d), close: (c?: number, r?: string) => void closes.push([c, r]) };
  return { ws, sent, closes };
}

test("the socket is closed when the token expires, unless refreshed", async () => {
  const hub = new Hub();
  const a = fakeSocket();
  hub.attach("w", a.ws, macKeyFromApiKey("k".repeat(64)), Date.now() + 50);
  await Bun.sleep(80);
  expect(a.closes).toEqual([[4001, "token expired"]]);

  const b = fakeSocket();
  hub.attach("w2", b.ws, macKeyFromApiKey("k".repeat(64)), Date.now() + 50);
  expect(hub.extend("w2", b.ws, Date.now() + 10_000)).toBe(true);
  await Bun.sleep(80);
  expect(b.closes).toEqual([]);
  hub.closeAll();
});

test("send seals with the worker's key; a newer socket replaces the older one", () => {
  const hub = new Hub();
  const key = macKeyFromApiKey("k".repeat(64));
  const a = fakeSocket();
  const b = fakeSocket();
  hub.attach("w", a.ws, key, Date.now() + 60_000);
  hub.attach("w", b.ws, key, Date.now() + 60_000);
  expect(a.closes[0]![0]).toBe(4000);
  expect(hub.send("w", "job.stop", { deployment_id: "d1" })).toBe(true);
  expect(a.sent).toEqual([]);
  expect(open(key, b.sent[0]!, new NonceCache())).toMatchObject({ ok: true, type: "job.stop", body: { deployment_id: "d1" } });
  expect(hub.detach("w", a.ws)).toBe(false);
  expect(hub.detach("w", b.ws)).toBe(true);
  expect(hub.send("w", "job.stop", { deployment_id: "d1" })).toBe(false);
});
