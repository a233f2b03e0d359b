/**
 * A real DNS server for tests: Debian's dnsmasq on a loopback port, serving
 * only the TXT and CNAME records the test writes (authoritative NXDOMAIN for
 * anything else under .test). dnsmasq reads records from its config file at
 * start only, so changing them restarts it on the same port.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Resolver } from "node:dns/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, launch, type Proc } from "./processes";

/** Debian's dnsmasq-base puts it in /usr/sbin, which a non-root PATH may lack. */
const DNSMASQ = existsSync("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq";
export const dnsmasqAvailable = () => existsSync(DNSMASQ) || Bun.spawnSync(["sh", "-c", "command -v dnsmasq"]).exitCode === 0;

export type TestDns = {
  /** "127.0.0.1:<port>", for WH_DNS_SERVERS. */
  server: string;
  /** Replaces the TXT records at `name` (one record per value); an empty list removes them. */
  setTxt(name: string, values: string[]): Promise<void>;
  /** Sets (or with null removes) the CNAME of `name`. */
  setCname(name: string, target: string | null): Promise<void>;
  stop(): Promise<void>;
};

const READY_NAME = "ready.wh-dns.test";

export async function startDns(): Promise<TestDns> {
  const dir = mkdtempSync(join(tmpdir(), "wh-dns-"));
  const port = freePort();
  const txt = new Map<string, string[]>();
  const cname = new Map<string, string>();
  let proc: Proc | null = null;
  let generation = 0;

  const quote = (v: string) => `"${v.replace(/["\\]/g, "")}"`;
  async function start() {
    generation++;
    const lines = [
      `port=${port}`,
      "listen-address=127.0.0.1",
      "bind-interfaces",
      "no-resolv",
      "no-hosts",
      "no-poll",
      "local=/test/",
      `pid-file=${join(dir, "dnsmasq.pid")}`,
      `txt-record=${READY_NAME},${quote(String(generation))}`,
      ...[...txt].flatMap(([name, values]) => values.map((v) => `txt-record=${name},${quote(v)}`)),
      // dnsmasq answers a CNAME only when it knows its target's address too.
      ...[...cname].flatMap(([name, target]) => [`cname=${name},${target}`, `host-record=${target},127.0.0.1`]),
    ];
    const conf = join(dir, "dnsmasq.conf");
    writeFileSync(conf, lines.join("\n") + "\n");
    proc = launch([DNSMASQ, "--keep-in-foreground", `--conf-file=${conf}`], {});
    // Ready once it answers with this generation's records.
    const r = new Resolver({ timeout: 200, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        const got = await r.resolveTxt(READY_NAME);
        if (got[0]?.join("") === String(generation)) return;
      } catch {}
      if (proc.proc.exitCode !== null) throw new Error(`dnsmasq exited (${proc.proc.exitCode}): ${proc.output()}`);
      if (Date.now() > end) throw new Error(`dnsmasq did not answer on port ${port}: ${proc.output()}`);
      await Bun.sleep(20);
    }
  }
  async function restart() {
    await proc?.stop();
    await start();
  }
  await start();
  return {
    server: `127.0.0.1:${port}`,
    async setTxt(name, values) {
      if (values.length) txt.set(name, values);
      else txt.delete(name);
      await restart();
    },
    async setCname(name, target) {
      if (target) cname.set(name, target);
      else cname.delete(name);
      await restart();
    },
    async stop() {
      await proc?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
