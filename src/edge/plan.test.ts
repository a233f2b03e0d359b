import { expect, test } from "bun:test";
import type { RouteEntry } from "../ingress/routes";
import { canonical, desiredRoutes, plan, POLICY_ID, type EdgeSettings } from "./plan";

const settings: EdgeSettings = { server: "wisehosting", tls: "internal", listen: [":443"], askUrl: "http://127.0.0.1:8080/v1/edge/ask" };
const entry = (hostname: string, port: number, address = "10.0.0.5"): RouteEntry => ({ hostname, project: "p", kind: "app", upstream: { address, port } });
const summary = (ops: ReturnType<typeof plan>) => ops.map((o) => `${o.method} ${o.path}`);

test("an empty Caddy gets the whole server, policy and ask in three calls", () => {
  const ops = plan(null, [entry("shop.apps.test", 4000)], settings);
  expect(summary(ops)).toEqual(["POST /config/", "POST /config/apps/tls/automation/policies", "POST /config/apps/http"]);
  expect(ops[0]!.body).toEqual({ apps: { tls: { automation: { on_demand: { ask: settings.askUrl } } } } });
  const server = (ops[2]!.body as any).servers.wisehosting;
  expect(server.listen).toEqual([":443"]);
  expect(server.routes[0]).toEqual({
    "@id": "wh-route-shop.apps.test",
    match: [{ host: ["shop.apps.test"] }],
    handle: [{ handler: "reverse_proxy", upstreams: [{ dial: "10.0.0.5:4000" }] }],
    terminal: true,
  });
});

test("only our routes change: stale patched, stray deleted, missing inserted in front, others untouched", () => {
  const foreign = { "@id": "operator", match: [{ host: ["x.test"] }], handle: [{ handler: "static_response" }] };
  const anonymous = { handle: [{ handler: "static_response", body: "catch-all" }] };
  const [fresh] = desiredRoutes([entry("a.test", 1)]);
  const config = {
    apps: {
      tls: { automation: { on_demand: { ask: settings.askUrl }, policies: [{ "@id": POLICY_ID, subjects: ["a.test", "b.test", "ghost.test"], issuers: [{ module: "internal" }], on_demand: true }] } },
      http: {
        servers: {
          wisehosting: {
            listen: [":443"],
            routes: [
              JSON.parse(canonical(fresh)),
              { ...desiredRoutes([entry("b.test", 999)])[0] },
              foreign,
              { ...desiredRoutes([entry("ghost.test", 5)])[0] },
              anonymous,
            ],
          },
        },
      },
    },
  };
  const before = JSON.stringify(config);
  const ops = plan(config, [entry("a.test", 1), entry("b.test", 2), entry("c.test", 3)], settings);
  expect(JSON.stringify(config)).toBe(before); // the input is not modified
  expect(summary(ops)).toEqual([
    `PATCH /id/${POLICY_ID}`,
    "PATCH /id/wh-route-b.test",
    "DELETE /id/wh-route-ghost.test",
    "PUT /config/apps/http/servers/wisehosting/routes/0",
  ]);
  expect((ops[0]!.body as any).subjects).toEqual(["a.test", "b.test", "c.test"]);
  expect(ops.some((o) => o.path.includes("operator"))).toBe(false);
  // In line already: nothing to do.
  expect(plan(config, [entry("a.test", 1)], settings).filter((o) => o.path.includes("route"))).toHaveLength(2); // b and ghost go
});

test("a wildcard goes after our exact routes; TLS off needs no policy and no ask", () => {
  const off = { ...settings, tls: "off" as const };
  const foreign = { handle: [{ handler: "static_response" }] };
  const config = { apps: { http: { servers: { wisehosting: { listen: [":80"], routes: [...desiredRoutes([entry("a.example.com", 1)]), foreign] } } } } };
  const ops = plan(config, [entry("a.example.com", 1), entry("*.example.com", 2), entry("z.example.com", 3)], off);
  expect(summary(ops)).toEqual(["PUT /config/apps/http/servers/wisehosting/routes/0", "PUT /config/apps/http/servers/wisehosting/routes/2"]);
  expect((ops[1]!.body as any)["@id"]).toBe("wh-route-_.example.com");
  // Caddy can't PUT at the end of a list (an empty one included): that is a POST, which appends.
  const empty = { apps: { http: { servers: { wisehosting: { listen: [":80"], routes: [] } } } } };
  expect(summary(plan(empty, [entry("a.example.com", 1), entry("b.example.com", 1)], off))).toEqual([
    "POST /config/apps/http/servers/wisehosting/routes",
    "PUT /config/apps/http/servers/wisehosting/routes/0",
  ]);
  expect(plan(null, [], off).map((o) => (o.body as any)?.apps?.http?.servers?.wisehosting?.automatic_https)).toEqual([{ disable: true }]);
});

test("IPv6 worker addresses are bracketed", () => {
  expect((desiredRoutes([entry("a.test", 80, "fd00::5")])[0]!.handle as any)[0].upstreams[0].dial).toBe("[fd00::5]:80");
});
