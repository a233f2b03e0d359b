/**
 * Runtime log followers: one `podman logs --follow` per deployment, sending
 * each line to the hub. `podman logs -f` exits when the container stops; if
 * podman's restart policy brings the container back, the follower resumes
 * from where it stopped. Stop/remove tasks end a follower explicitly.
 */
import { run } from "../exec";
import { logsArgs, parsePs, psByNameArgs } from "../podman/containers";
import { sleep } from "./context";

type Emit = (deploymentId: string, line: string) => void;

interface Follower {
  controller: AbortController;
  done: Promise<void>;
}

export class RuntimeLogs {
  private followers = new Map<string, Follower>();

  constructor(private readonly emit: Emit) {}

  /** True while a follower runs for the deployment. */
  has(deploymentId: string): boolean {
    return this.followers.has(deploymentId);
  }

  /**
   * Starts following `containerName` unless already following. `since`
   * skips older lines (omit it to send the whole log of a new container).
   */
  follow(deploymentId: string, containerName: string, since?: Date): void {
    if (this.followers.has(deploymentId)) return;
    const controller = new AbortController();
    const follower: Follower = {
      controller,
      // A follower that fails (say, podman printing something unexpected) just ends.
      done: this.loop(deploymentId, containerName, since, controller.signal)
        .catch(() => {})
        .finally(() => {
          if (this.followers.get(deploymentId) === follower) this.followers.delete(deploymentId);
        }),
    };
    this.followers.set(deploymentId, follower);
  }

  /** Stops the follower of a deployment (if any) and waits for it to exit. */
  async stop(deploymentId: string): Promise<void> {
    const f = this.followers.get(deploymentId);
    if (!f) return;
    f.controller.abort();
    await f.done;
  }

  /** Stops every follower (agent shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.followers.keys()].map((id) => this.stop(id)));
  }

  private async loop(deploymentId: string, name: string, since: Date | undefined, signal: AbortSignal): Promise<void> {
    let from = since;
    let idleMs = 1000;
    while (!signal.aborted) {
      const started = Date.now();
      await run(logsArgs(name, from), {
        signal,
        onLine: (line) => this.emit(deploymentId, line),
        maxOutputBytes: 0,
      });
      if (signal.aborted) return;
      from = new Date();
      if (Date.now() - started > 10_000) idleMs = 1000;
      // The container stopped (or logs failed): see whether it is coming back.
      for (;;) {
        await sleep(idleMs, signal);
        if (signal.aborted) return;
        const ps = await run(psByNameArgs(name), { timeoutMs: 30_000 });
        const c = ps.code === 0 ? parsePs(ps.stdout).find((x) => x.name === name) : undefined;
        if (ps.code === 0 && !c) return; // gone for good
        idleMs = Math.min(idleMs * 2, 30_000);
        if (c?.state === "running") break;
      }
    }
  }
}
