/**
 * Runs jobs one at a time per deployment and concurrently across
 * deployments: a stop can't overtake the deploy it is meant to stop, while
 * two projects build side by side.
 */

export type Job = (signal: AbortSignal) => Promise<unknown>;

export class JobQueue {
  private tails = new Map<string, Promise<void>>();
  private running = new Map<string, AbortController>();
  private queued = new Set<AbortController>();

  /** Jobs started or waiting. */
  get size(): number {
    return this.tails.size;
  }

  /**
   * Queues `job` behind the earlier jobs of `key`. Errors are passed to
   * `onError`; they never break the chain.
   */
  enqueue(key: string, job: Job, onError: (err: unknown) => void = () => {}): Promise<void> {
    const controller = new AbortController();
    this.queued.add(controller);
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      this.queued.delete(controller);
      if (controller.signal.aborted) return; // cancelled before it started (shutdown)
      this.running.set(key, controller);
      try {
        await job(controller.signal);
      } catch (err) {
        onError(err);
      } finally {
        if (this.running.get(key) === controller) this.running.delete(key);
      }
    });
    this.tails.set(key, next);
    void next.finally(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  /** Aborts the job of `key` that is running now (queued ones still run). */
  cancelRunning(key: string, reason = "cancelled"): void {
    this.running.get(key)?.abort(reason);
  }

  /** Aborts every running job and skips every queued one (shutdown). */
  cancelAll(reason = "agent shutting down"): void {
    for (const c of this.running.values()) c.abort(reason);
    for (const c of this.queued) c.abort(reason);
  }

  /** Resolves when every job queued so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
