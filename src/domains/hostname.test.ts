import { expect, test } from "bun:test";
import { displayHostname, hostnameMatches, normalizeHostname, verificationName } from "./hostname";

const rules = { appsDomain: "apps.example.com", allowWildcard: false };
const ok = (h: string, r = rules) => {
  const n = normalizeHostname(h, r);
  if ("error" in n) throw new Error(`${h}: ${n.error}`);
  return n.hostname;
};
const bad = (h: string, r = rules) => {
  const n = normalizeHostname(h, r);
  if (!("error" in n)) throw new Error(`${h} was accepted as ${n.hostname}`);
  return n.error;
};

test("normalizes case, trailing dot and Unicode (IDNA to punycode)", () => {
  expect(ok("Shop.Example.COM.")).toBe("shop.example.com");
  expect(ok("  shop.example.com ")).toBe("shop.example.com");
  expect(ok("Bücher.example")).toBe("xn--bcher-kva.example");
  expect(ok("日本.example.jp")).toBe("xn--wgv71a.example.jp");
  expect(ok("xn--bcher-kva.example")).toBe("xn--bcher-kva.example");
  expect(displayHostname("xn--bcher-kva.example")).toBe("bücher.example");
  expect(displayHostname("*.xn--bcher-kva.example")).toBe("*.bücher.example");
});

test("refuses what isn't a bare domain name", () => {
  expect(bad("")).toMatch(/empty/);
  expect(bad("https://shop.example.com")).toMatch(/bare host name/);
  expect(bad("shop.example.com:8443")).toMatch(/bare host name/);
  expect(bad("shop.example.com/x")).toMatch(/bare host name/);
  expect(bad("exa mple.com")).toMatch(/bare host name/);
  expect(bad("localhost")).toMatch(/two labels/);
  expect(bad("a..example.com")).toMatch(/label/);
  expect(bad("-a.example.com")).toMatch(/label/);
  expect(bad("a_b.example.com")).toMatch(/label/);
  expect(bad(`${"a".repeat(64)}.example.com`)).toMatch(/label/);
  expect(bad(`${"a.".repeat(130)}com`)).toMatch(/253/);
  expect(bad("10.0.0.1")).toMatch(/IP address/);
  expect(bad("xn--zz.com")).toMatch(/international/);
});

test("nothing under WH_APPS_DOMAIN", () => {
  expect(bad("apps.example.com")).toMatch(/under apps.example.com/);
  expect(bad("shop.apps.example.com")).toMatch(/under apps.example.com/);
  expect(bad("*.apps.example.com", { ...rules, allowWildcard: true })).toMatch(/under apps.example.com/);
  expect(ok("myapps.example.com")).toBe("myapps.example.com");
});

test("wildcards only when allowed, and only as the whole leftmost label", () => {
  expect(bad("*.example.com")).toMatch(/not allowed/);
  const wild = { ...rules, allowWildcard: true };
  expect(ok("*.Example.com", wild)).toBe("*.example.com");
  expect(bad("*.com", wild)).toMatch(/two labels/);
  expect(bad("a.*.example.com", wild)).toMatch(/leftmost/);
  expect(bad("*a.example.com", wild)).toMatch(/leftmost/);
  expect(bad("*", wild)).toMatch(/leftmost|two labels/);
});

test("verification name and wildcard matching", () => {
  expect(verificationName("shop.example.com")).toBe("_wisehosting.shop.example.com");
  expect(verificationName("*.example.com")).toBe("_wisehosting.example.com");
  expect(hostnameMatches("*.example.com", "a.example.com")).toBe(true);
  expect(hostnameMatches("*.example.com", "a.b.example.com")).toBe(false);
  expect(hostnameMatches("*.example.com", "example.com")).toBe(false);
  expect(hostnameMatches("shop.example.com", "shop.example.com")).toBe(true);
});
