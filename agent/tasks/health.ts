/**
 * HTTP health probing of a freshly started container. Uses node:http rather
 * than fetch so an HTTP(S)_PROXY in the agent's environment is never used for
 * a request to the container itself.
 */
import { request } from "node:http";
import { sleep } from "./context";

export type HealthResult = { ok: true; status: number } | { ok: false; reason: string };

/** One GET; resolves to the status code, or an error message. Never throws. */
export function probe(url: string, timeoutMs: number): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (v: { status: number } | { error: string }) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    try {
      const req = request(url, { method: "GET", timeout: timeoutMs, headers: { "user-agent": "wisehosting-agent" } }, (res) => {
        finish({ status: res.statusCode ?? 0 });
        res.resume(); // drain and discard the body
        req.destroy();
      });
      req.on("timeout", () => {
        req.destroy();
        finish({ error: `no answer within ${timeoutMs} ms` });
      });
      req.on("error", (err) => finish({ error: err.message }));
      req.end();
    } catch (err) {
      finish({ error: (err as Error).message });
    }
  });
}

/** The first wait between probes; it doubles up to WaitOptions.intervalMs. */
export const FIRST_INTERVAL_MS = 10;

export interface WaitOptions {
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

/**
 * Probes `url` until it answers with a status in 200..499 (the app is up,
 * whatever it thinks of the path) or the time runs out. 5xx counts as not
 * ready yet.
 */
export async function waitHealthy(url: string, opts: WaitOptions): Promise<HealthResult> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "no attempt made";
  // Most apps answer within a few hundred ms of starting: probe soon, then
  // back off to intervalMs, so a fast app isn't made to wait a whole interval.
  let wait = Math.min(FIRST_INTERVAL_MS, opts.intervalMs);
  for (;;) {
    if (opts.signal?.aborted) return { ok: false, reason: "cancelled" };
    const left = deadline - Date.now();
    const r = await probe(url, Math.max(100, Math.min(2000, left)));
    if ("status" in r && r.status >= 200 && r.status < 500) return { ok: true, status: r.status };
    last = "status" in r ? `HTTP ${r.status}` : r.error;
    if (Date.now() + wait >= deadline) break;
    await sleep(wait, opts.signal);
    wait = Math.min(wait * 2, opts.intervalMs);
  }
  return { ok: false, reason: `health check ${url} failed for ${Math.round(opts.timeoutMs / 1000)} s (last: ${last})` };
}
