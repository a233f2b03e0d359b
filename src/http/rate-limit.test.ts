import { expect, test } from "bun:test";
import { RateLimiter, TooManyRequests } from "./rate-limit";

test("the 11th hit in a window is refused with a retry time; a new window starts fresh", () => {
  const rl = new RateLimiter(10, 60_000);
  for (let i = 0; i < 10; i++) rl.hit("ip:1", 1000 + i);
  let err: unknown;
  try {
    rl.hit("ip:1", 2000);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TooManyRequests);
  expect((err as TooManyRequests).status).toBe(429);
  expect((err as TooManyRequests).retryAfterS).toBe(59);
  rl.hit("ip:2", 2000); // other keys are separate
  rl.hit("ip:1", 61_000);
});
