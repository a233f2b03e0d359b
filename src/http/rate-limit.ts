/**
 * Fixed-window rate limits kept in memory, per key ("login-ip:1.2.3.4",
 * "token:<id>"). One control plane's view; enough to stop guessing and
 * runaway scripts. A refusal says when to retry.
 */
import { ApiError } from "./errors";

export class TooManyRequests extends ApiError {
  constructor(readonly retryAfterS: number) {
    super(429, "rate_limited", `too many requests; retry in ${retryAfterS} s`);
  }
}

export class RateLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one hit; throws TooManyRequests once `limit` hits fell in the current window. */
  hit(key: string, now = Date.now()): void {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      if (this.windows.size > 50_000) this.prune(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    if (w.count > this.limit) throw new TooManyRequests(Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)));
  }

  private prune(now: number) {
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
  }
}
