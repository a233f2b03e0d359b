import { expect, test } from "bun:test";
import { forwardHeaders, projectFromHost } from "./routes";

test("host to project", () => {
  expect(projectFromHost("shop.localhost:8000", "localhost")).toBe("shop");
  expect(projectFromHost("SHOP.apps.example.com", "apps.example.com")).toBe("shop");
  expect(projectFromHost("shop.apps.example.com.", "apps.example.com")).toBe("shop");
  expect(projectFromHost("a.b.localhost", "localhost")).toBeNull();
  expect(projectFromHost("localhost:8000", "localhost")).toBeNull();
  expect(projectFromHost("shop.evil.com", "localhost")).toBeNull();
  expect(projectFromHost("[::1]:8000", "localhost")).toBeNull();
  expect(projectFromHost("-x.localhost", "localhost")).toBeNull();
  expect(projectFromHost(null, "localhost")).toBeNull();
});

test("hop-by-hop headers dropped, forwarded headers set", () => {
  const h = new Headers({
    host: "shop.localhost:8000",
    connection: "keep-alive, x-secret-hop",
    "x-secret-hop": "1",
    "keep-alive": "timeout=5",
    "x-forwarded-for": "10.0.0.1",
    accept: "text/html",
  });
  const out = forwardHeaders(h, "127.0.0.1", "http");
  expect(out.get("connection")).toBeNull();
  expect(out.get("keep-alive")).toBeNull();
  expect(out.get("x-secret-hop")).toBeNull();
  expect(out.get("accept")).toBe("text/html");
  expect(out.get("x-forwarded-for")).toBe("10.0.0.1, 127.0.0.1");
  expect(out.get("x-forwarded-proto")).toBe("http");
  expect(out.get("x-forwarded-host")).toBe("shop.localhost:8000");
});
