import { describe, expect, test } from "bun:test";
import { generate } from "otplib";
import { SecondFactorLocked } from "./lockout";
import { TooManyRequests } from "../http/rate-limit";
import { toErrorResponse } from "../http/errors";
import { codeBody, secondFactorBody } from "./model";
import { hashRecoveryCode, matchStep, newRecoveryCodes, newSecret, normalizeRecoveryCode, otpauthUri, PERIOD_S } from "./service";

const secret = newSecret();
const NOW = 1_700_000_015_000; // 15 s into a step
const cur = Math.floor(NOW / 1000 / PERIOD_S);
const codeFor = (step: number, s = secret) => generate({ secret: s, epoch: step * PERIOD_S });

describe("matchStep", () => {
  test("accepts the current step and one step either side, and says which", async () => {
    for (const d of [-1, 0, 1]) expect(await matchStep(secret, await codeFor(cur + d), null, NOW)).toBe(cur + d);
  });

  test("refuses codes two steps away", async () => {
    for (const d of [-2, 2, -3, 3]) {
      const code = await codeFor(cur + d);
      // a 6-digit code could by chance equal one in the window; skip that 1-in-300 000 case
      const inWindow = await Promise.all([-1, 0, 1].map((w) => codeFor(cur + w)));
      if (!inWindow.includes(code)) expect(await matchStep(secret, code, null, NOW)).toBeNull();
    }
  });

  test("refuses a step at or below the last accepted one (replay), without throwing past the window", async () => {
    expect(await matchStep(secret, await codeFor(cur), cur, NOW)).toBeNull();
    expect(await matchStep(secret, await codeFor(cur - 1), cur, NOW)).toBeNull();
    expect(await matchStep(secret, await codeFor(cur + 1), cur, NOW)).toBe(cur + 1);
    expect(await matchStep(secret, await codeFor(cur + 1), cur + 1, NOW)).toBeNull();
    expect(await matchStep(secret, await codeFor(cur), cur + 5, NOW)).toBeNull(); // last step ahead of the whole window
  });

  test("a code for another secret, or a malformed one, is refused", async () => {
    const other = newSecret();
    const code = await codeFor(cur, other);
    if (code !== (await codeFor(cur))) expect(await matchStep(secret, code, null, NOW)).toBeNull();
    for (const bad of ["", "12345", "1234567", "12 456", "abcdef", "１２３４５６"]) expect(await matchStep(secret, bad, null, NOW)).toBeNull();
  });
});

test("secrets are 160-bit base32 and differ; the otpauth URI names issuer and account", () => {
  const a = newSecret();
  expect(a).toMatch(/^[A-Z2-7]{32}$/);
  expect(newSecret()).not.toBe(a);
  const uri = new URL(otpauthUri("a+b@example.com", a));
  expect(uri.protocol).toBe("otpauth:");
  expect(uri.host).toBe("totp");
  expect(decodeURIComponent(uri.pathname)).toBe("/WiseHosting:a+b@example.com");
  expect(uri.searchParams.get("secret")).toBe(a);
  expect(uri.searchParams.get("issuer")).toBe("WiseHosting");
});

describe("recovery codes", () => {
  test("ten distinct xxxx-xxxx-xxxx codes of 60 random bits", () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    // every symbol of the 32-letter alphabet turns up across many codes (no stuck bits)
    const seen = new Set(newRecoveryCodes(200).join("").replace(/-/g, ""));
    expect(seen.size).toBe(32);
  });

  test("normalization ignores case, spaces and dashes; anything else is not a code", () => {
    expect(normalizeRecoveryCode(" ABCD-efgh-2345 ")).toBe("abcdefgh2345");
    expect(normalizeRecoveryCode("abcd efgh 2345")).toBe("abcdefgh2345");
    for (const bad of ["", "abcd-efgh-234", "abcd-efgh-23456", "abcd-efgh-2301", "abcd-efgh-234!"]) expect(normalizeRecoveryCode(bad)).toBeNull();
  });

  test("the stored hash is sha256 hex, per user, and never the code itself", () => {
    const [c] = newRecoveryCodes(1);
    const h = hashRecoveryCode("u1", c!);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).not.toContain(c!.replace(/-/g, ""));
    expect(hashRecoveryCode("u1", c!.toUpperCase().replace(/-/g, " "))).toBe(h);
    expect(hashRecoveryCode("u2", c!)).not.toBe(h);
  });
});

test("the lock is a 429 with Retry-After that says it is locked", async () => {
  const e = new SecondFactorLocked(600);
  expect(e).toBeInstanceOf(TooManyRequests);
  expect(e.status).toBe(429);
  const res = toErrorResponse("x", e);
  expect(res.status).toBe(429);
  expect(res.headers.get("retry-after")).toBe("600");
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("second_factor_locked");
  expect(body.error.message).toContain("locked");
});

test("bodies: exactly one of code / recovery_code, codes are six digits", () => {
  expect(secondFactorBody.safeParse({ code: "123456" }).success).toBe(true);
  expect(secondFactorBody.safeParse({ recovery_code: "abcd-efgh-2345" }).success).toBe(true);
  for (const bad of [{}, { code: "12345" }, { code: 123456 }, { code: "123456", recovery_code: "abcd-efgh-2345" }, { code: "123456", x: 1 }, { recovery_code: "" }, { recovery_code: "a".repeat(65) }])
    expect(secondFactorBody.safeParse(bad).success).toBe(false);
  expect(codeBody.safeParse({ code: "000000" }).success).toBe(true);
  expect(codeBody.safeParse({ recovery_code: "abcd-efgh-2345" }).success).toBe(false);
});
