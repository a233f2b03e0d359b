/**
 * At most N builds at once on this worker (WH_MAX_CONCURRENT_BUILDS): a
 * counting semaphore, first come first served. Other steps of a deploy
 * (clone, run, health check) don't take a slot.
 */
export class BuildSlots {
  private free: number;
  private waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new Error("BuildSlots: size must be a positive whole number");
    this.free = size;
  }

  /** Slots free right now. */
  get available(): number {
    return this.free;
  }

  /**
   * Takes a slot, waiting for one if needed (calling `onWait` once first).
   * Resolves to the release function (safe to call twice), or rejects when
   * `signal` aborts while waiting.
   */
  async acquire(signal?: AbortSignal, onWait?: () => void): Promise<() => void> {
    if (signal?.aborted) throw new Error("cancelled");
    if (this.free > 0) {
      this.free--;
    } else {
      onWait?.();
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        };
        const abort = () => {
          this.waiting = this.waiting.filter((w) => w !== wake);
          reject(new Error("cancelled"));
        };
        this.waiting.push(wake);
        signal?.addEventListener("abort", abort, { once: true });
      });
      // The releasing build handed its slot straight to us: `free` didn't change.
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
