import { expect, test } from "bun:test";
import { ConfigError, parseConfig, splitHostPort } from "./config";

test("defaults apply when nothing is set", () => {
  const c = parseConfig({});
  expect(c.WH_LISTEN).toBe("127.0.0.1:8080");
  expect(c.WH_INGRESS_LISTEN).toBe("127.0.0.1:8000");
  expect(c.WH_APPS_DOMAIN).toBe("localhost");
  expect(c.WH_ALLOW_LOCAL_REPOS).toBe(false);
  expect(c.WH_DATA_DIR).toBe("./wisehosting-data");
});

test("a bad value names the variable", () => {
  expect(() => parseConfig({ WH_MASTER_KEY: "abc" })).toThrow(new ConfigError("WH_MASTER_KEY: must be 64 hex characters (32 bytes)"));
  expect(() => parseConfig({ WH_LISTEN: "nope" })).toThrow(/^WH_LISTEN: /);
  expect(() => parseConfig({ WH_LISTEN: "1.2.3.4:70000" })).toThrow(/^WH_LISTEN: port/);
  expect(() => parseConfig({ WH_ALLOW_LOCAL_REPOS: "maybe" })).toThrow(/^WH_ALLOW_LOCAL_REPOS: /);
  expect(() => parseConfig({ WH_DATABASE_URL: "mysql://x" })).toThrow(/^WH_DATABASE_URL: /);
});

test("booleans and host:port parse", () => {
  expect(parseConfig({ WH_ALLOW_LOCAL_REPOS: "true" }).WH_ALLOW_LOCAL_REPOS).toBe(true);
  expect(splitHostPort("[::1]:8000")).toEqual({ hostname: "::1", port: 8000 });
  expect(splitHostPort("0.0.0.0:80")).toEqual({ hostname: "0.0.0.0", port: 80 });
});
