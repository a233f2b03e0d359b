import { expect, test } from "bun:test";
import { ConfigError, parseConfig } from "../config";
import { askUrl, edgeSettings } from ".";

const config = (env: Record<string, string>) => ({ ...parseConfig(env), publicUrl: "", masterKey: Buffer.alloc(32), workerSecret: "" });

test("WH_DNS_SERVERS takes IP[:port] lists and names a bad one", () => {
  expect(parseConfig({ WH_DNS_SERVERS: "127.0.0.1:5353, 9.9.9.9,[::1]:53,2001:db8::1" }).WH_DNS_SERVERS).toEqual(["127.0.0.1:5353", "9.9.9.9", "[::1]:53", "2001:db8::1"]);
  expect(parseConfig({}).WH_DNS_SERVERS).toBeUndefined();
  for (const bad of ["dns.example.com", "127.0.0.1:99999", "1.2.3.4:x"]) expect(() => parseConfig({ WH_DNS_SERVERS: bad })).toThrow(ConfigError);
  expect(() => parseConfig({ WH_DNS_SERVERS: "dns.example.com" })).toThrow(/^WH_DNS_SERVERS: /);
});

test("Caddy settings: defaults, TLS modes, and the ask URL from WH_LISTEN", () => {
  const d = edgeSettings(config({ WH_CADDY_ADMIN_URL: "http://127.0.0.1:2019" }));
  expect(d).toEqual({ server: "wisehosting", tls: "acme", listen: [":443"], askUrl: "http://127.0.0.1:8080/v1/edge/ask" });
  expect(edgeSettings(config({ WH_CADDY_TLS: "off" })).listen).toEqual([":80"]);
  expect(edgeSettings(config({ WH_CADDY_LISTEN: "127.0.0.1:8443,[::1]:8443" })).listen).toEqual(["127.0.0.1:8443", "[::1]:8443"]);
  expect(askUrl(config({ WH_LISTEN: "0.0.0.0:9000" }))).toBe("http://127.0.0.1:9000/v1/edge/ask");
  expect(askUrl(config({ WH_LISTEN: "[::]:9000" }))).toBe("http://[::1]:9000/v1/edge/ask");
  expect(askUrl(config({ WH_CADDY_ASK_URL: "http://10.0.0.2:8080/v1/edge/ask" }))).toBe("http://10.0.0.2:8080/v1/edge/ask");
  expect(() => parseConfig({ WH_CADDY_TLS: "on" })).toThrow(/^WH_CADDY_TLS: must be acme, internal or off/);
  expect(() => parseConfig({ WH_CADDY_SERVER: "a/b" })).toThrow(/^WH_CADDY_SERVER/);
  expect(parseConfig({ WH_ALLOW_WILDCARD_DOMAINS: "true", WH_DOMAIN_GRACE_HOURS: "0.5" })).toMatchObject({ WH_ALLOW_WILDCARD_DOMAINS: true, WH_DOMAIN_GRACE_HOURS: 0.5 });
});
