/**
 * A load generator of simulated agents (run as its own process by
 * fleet.ts): N WebSockets with valid JWTs sending real sealed envelopes —
 * hello, a heartbeat every 5 s and stats every 10 s — and timing each
 * heartbeat until the hub's ack. Prints one JSON line of results.
 * Input (env): SIM_HUB (ws URL), SIM_CREDS (JSON file: [{token, api_key}]),
 * SIM_RAMP_PER_S, SIM_HOLD_S.
 */
import { readFileSync } from "node:fs";
import { macKeyFromApiKey, NonceCache, open, seal } from "../../src/protocol/hub";

type Cred = { token: string; api_key: string };
const creds: Cred[] = JSON.parse(readFileSync(process.env.SIM_CREDS!, "utf8"));
const hub = process.env.SIM_HUB!;
const rampPerS = Number(process.env.SIM_RAMP_PER_S ?? 250);
const holdS = Number(process.env.SIM_HOLD_S ?? 20);

let opened = 0;
let dropped = 0;
let failedToOpen = 0;
const rtts: number[] = [];
let measuring = false;
const timers: ReturnType<typeof setInterval>[] = [];
const sockets: WebSocket[] = [];

function startAgent(c: Cred): Promise<void> {
  return new Promise((resolve) => {
    const key = macKeyFromApiKey(c.api_key);
    const nonces = new NonceCache();
    const pending = new Map<string, number>();
    const ws = new WebSocket(hub, { headers: { authorization: `Bearer ${c.token}` } } as never);
    sockets.push(ws);
    let wasOpen = false;
    ws.onopen = () => {
      wasOpen = true;
      opened++;
      ws.send(JSON.stringify(seal(key, "hello", { agent_version: "sim", active_deployments: [], capacity_mb: 4096, address: "127.0.0.1", containers: [] })));
      const beat = () => {
        const e = seal(key, "heartbeat", { running: 0 });
        pending.set(e.id, performance.now());
        ws.send(JSON.stringify(e));
      };
      const stats = () =>
        ws.send(
          JSON.stringify(
            seal(key, "stats", {
              samples: [{ at: Date.now(), host: { cpu_percent: 3, mem_used_bytes: 1e9, mem_total_bytes: 4e9, disk_used_bytes: 1e10, disk_total_bytes: 5e10 }, containers: [] }],
            }),
          ),
        );
      // Spread phases so the fleet doesn't beat in lockstep.
      setTimeout(() => {
        beat();
        timers.push(setInterval(beat, 5000));
      }, Math.random() * 5000);
      setTimeout(() => {
        stats();
        timers.push(setInterval(stats, 10_000));
      }, Math.random() * 10_000);
      resolve();
    };
    ws.onmessage = (ev) => {
      const r = open(key, String(ev.data), nonces);
      if (r.ok && r.type === "ack") {
        const id = (r.body as { id: string }).id;
        const t0 = pending.get(id);
        if (t0 !== undefined) {
          pending.delete(id);
          if (measuring) rtts.push(performance.now() - t0);
        }
      }
    };
    ws.onclose = () => {
      if (wasOpen) dropped++;
      else {
        failedToOpen++;
        resolve();
      }
    };
  });
}

const t0 = performance.now();
for (let i = 0; i < creds.length; i += rampPerS) {
  const started = performance.now();
  await Promise.all(creds.slice(i, i + rampPerS).map(startAgent));
  const wait = 1000 - (performance.now() - started);
  if (wait > 0) await Bun.sleep(wait);
}
const rampS = (performance.now() - t0) / 1000;
await Bun.sleep(5000); // let the first heartbeats of the last ones settle
measuring = true;
await Bun.sleep(holdS * 1000);
measuring = false;
const sorted = rtts.sort((a, b) => a - b);
const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
console.log(JSON.stringify({ n: creds.length, opened, failedToOpen, dropped, rampS, heartbeats: sorted.length, p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? NaN }));
for (const t of timers) clearInterval(t);
for (const s of sockets) s.close();
process.exit(0);
