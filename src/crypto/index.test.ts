import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { decrypt, deriveKey, encrypt, keyId } from "./index";

const master = randomBytes(32);

test("round trip, with a fresh IV each time", () => {
  const a = encrypt(master, "env", "s3cret", "p1:KEY");
  const b = encrypt(master, "env", "s3cret", "p1:KEY");
  expect(a).not.toBe(b);
  expect(a.startsWith(`v1.${keyId(master)}.`)).toBe(true);
  expect(a).not.toContain("s3cret");
  expect(decrypt(master, "env", a, "p1:KEY")).toBe("s3cret");
});

test("wrong purpose, wrong aad, tampering and another key all fail", () => {
  const a = encrypt(master, "env", "s3cret", "p1:KEY");
  expect(() => decrypt(master, "worker-jwt", a, "p1:KEY")).toThrow();
  expect(() => decrypt(master, "env", a, "p2:KEY")).toThrow();
  const raw = Buffer.from(a.split(".")[2]!, "base64");
  raw[raw.length - 1]! ^= 1;
  expect(() => decrypt(master, "env", `v1.${keyId(master)}.${raw.toString("base64")}`, "p1:KEY")).toThrow();
  expect(() => decrypt(randomBytes(32), "env", a, "p1:KEY")).toThrow(/master key/);
});

test("purposes derive different keys", () => {
  expect(deriveKey(master, "env").equals(deriveKey(master, "worker-jwt"))).toBe(false);
});
