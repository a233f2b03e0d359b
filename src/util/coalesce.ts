/**
 * Wraps an async job so at most one run is in flight: a call during a run
 * schedules exactly one more run after it, however many calls came in. Used
 * where a trigger means "the state changed, look again" (placement, routes).
 */
export function coalesced(job: () => Promise<void>, label: string): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return function run(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await job();
        } while (again);
      } catch (e) {
        console.error(`[${label}] failed:`, e);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}
