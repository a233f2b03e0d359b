/**
 * Real podman for tests: the containers.conf this machine needs (runc,
 * ulimits), and a tiny base image built locally from Debian's busybox-static,
 * since no container registry is reachable.
 */
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, writeFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CONTAINERS_CONF = join(import.meta.dir, "../containers.conf");
export const BASE_IMAGE = "localhost/wh-test-busybox:latest";
export const podmanEnv = { ...process.env, CONTAINERS_CONF } as Record<string, string>;

export function podmanAvailable(): boolean {
  return Bun.spawnSync(["podman", "--version"], { env: podmanEnv }).exitCode === 0 && existsSync("/bin/busybox");
}

export function podman(args: string[]): { code: number; out: string; err: string } {
  const p = Bun.spawnSync(["podman", ...args], { env: podmanEnv });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

/** Imports the busybox base image once; its default command serves /www on 8080. */
export function ensureBaseImage(): void {
  if (podman(["image", "exists", BASE_IMAGE]).code === 0) return;
  const root = mkdtempSync(join(tmpdir(), "wh-rootfs-"));
  mkdirSync(join(root, "bin"));
  mkdirSync(join(root, "www"));
  mkdirSync(join(root, "tmp"));
  copyFileSync("/bin/busybox", join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const tool of ["sh", "httpd", "cat", "echo", "sleep"]) Bun.spawnSync(["ln", "-s", "busybox", join(root, "bin", tool)]);
  writeFileSync(join(root, "www/index.html"), "base\n");
  const tar = join(root, "..", `${root.split("/").pop()}.tar`);
  if (Bun.spawnSync(["tar", "-C", root, "-cf", tar, "."]).exitCode !== 0) throw new Error("tar of the base rootfs failed");
  const r = podman(["import", "--change", 'CMD ["/bin/busybox","httpd","-f","-p","8080","-h","/www"]', tar, BASE_IMAGE]);
  rmSync(root, { recursive: true, force: true });
  rmSync(tar, { force: true });
  if (r.code !== 0) throw new Error(`podman import failed: ${r.err}`);
}

/** Every container a test worker made (by its wh.worker label), removed. */
export function removeWorkerContainers(workerName: string): void {
  const ids = podman(["ps", "-aq", "--filter", `label=wh.worker=${workerName}`]).out.split("\n").filter(Boolean);
  if (ids.length) podman(["rm", "-f", "-t", "0", ...ids]);
}

export function containersOf(workerName: string): { Names: string[]; State: string; Labels: Record<string, string> }[] {
  return JSON.parse(podman(["ps", "-a", "--filter", `label=wh.worker=${workerName}`, "--format", "json"]).out || "[]");
}
