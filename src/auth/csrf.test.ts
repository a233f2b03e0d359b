import { expect, test } from "bun:test";
import { isSameOrigin } from "./csrf";

const pub = "https://paas.example.com";
test("same origin passes; other origins, null origin and no signal at all are refused", () => {
  expect(isSameOrigin(new Headers({ origin: "https://paas.example.com" }), pub)).toBe(true);
  expect(isSameOrigin(new Headers({ "sec-fetch-site": "same-origin" }), pub)).toBe(true);
  expect(isSameOrigin(new Headers({ origin: "https://evil.example" }), pub)).toBe(false);
  expect(isSameOrigin(new Headers({ origin: "https://paas.example.com.evil.example" }), pub)).toBe(false);
  expect(isSameOrigin(new Headers({ origin: "null" }), pub)).toBe(false);
  expect(isSameOrigin(new Headers({ "sec-fetch-site": "cross-site" }), pub)).toBe(false);
  expect(isSameOrigin(new Headers({ origin: "https://evil.example", "sec-fetch-site": "same-origin" }), pub)).toBe(false);
  expect(isSameOrigin(new Headers({}), pub)).toBe(false);
});
