import { expect, test } from "bun:test";
import { buildTable, hostOnly, lookupRoute, type RouteEntry } from "./routes";

const e = (hostname: string, port: number): RouteEntry => ({ hostname, project: "p", kind: "domain", upstream: { address: "127.0.0.1", port } });

test("exact names first, then a wildcard one label up", () => {
  const t = buildTable([e("shop.apps.test", 1), e("shop.example.com", 2), e("*.example.com", 3)]);
  expect(lookupRoute(t, "shop.apps.test:8000")?.port).toBe(1);
  expect(lookupRoute(t, "SHOP.example.com.")?.port).toBe(2);
  expect(lookupRoute(t, "blog.example.com")?.port).toBe(3);
  expect(lookupRoute(t, "a.blog.example.com")).toBeUndefined();
  expect(lookupRoute(t, "example.com")).toBeUndefined();
  expect(lookupRoute(t, "[::1]:8000")).toBeUndefined();
  expect(lookupRoute(t, null)).toBeUndefined();
  expect(hostOnly("Shop.Example.com:443")).toBe("shop.example.com");
});
