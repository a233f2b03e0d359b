import { expect, test } from "bun:test";
import { macKeyFromApiKey, NonceCache, open, seal, MAX_CLOCK_SKEW_MS } from "./hub";

const key = macKeyFromApiKey("a".repeat(64));
const body = { running: 2 };

test("a sealed envelope opens, as text or as parsed JSON", () => {
  const e = seal(key, "heartbeat", body);
  expect(open(key, JSON.stringify(e), new NonceCache())).toMatchObject({ ok: true, type: "heartbeat", body });
  expect(open(key, e, new NonceCache())).toMatchObject({ ok: true, type: "heartbeat", body });
});

test("forged MAC, other key, tampered body, replay and stale time are refused", () => {
  const e = seal(key, "heartbeat", body);
  expect(open(key, { ...e, mac: "0".repeat(64) }, new NonceCache())).toEqual({ ok: false, reason: "bad MAC" });
  expect(open(macKeyFromApiKey("b".repeat(64)), e, new NonceCache())).toEqual({ ok: false, reason: "bad MAC" });
  expect(open(key, { ...e, body: JSON.stringify({ running: 3 }) }, new NonceCache())).toEqual({ ok: false, reason: "bad MAC" });
  const nonces = new NonceCache();
  expect(open(key, e, nonces).ok).toBe(true);
  expect(open(key, e, nonces)).toEqual({ ok: false, reason: "replayed nonce" });
  const old = seal(key, "heartbeat", body, Date.now() - MAX_CLOCK_SKEW_MS - 1000);
  expect(open(key, old, new NonceCache())).toEqual({ ok: false, reason: "stale timestamp" });
  const future = seal(key, "heartbeat", body, Date.now() + MAX_CLOCK_SKEW_MS + 1000);
  expect(open(key, future, new NonceCache())).toEqual({ ok: false, reason: "stale timestamp" });
});

test("a well-signed body that breaks its schema is refused", () => {
  const e = seal(key, "heartbeat", { running: -1 } as never);
  expect(open(key, e, new NonceCache())).toEqual({ ok: false, reason: "invalid heartbeat body" });
  expect(open(key, "{not json", new NonceCache())).toEqual({ ok: false, reason: "malformed JSON" });
});
