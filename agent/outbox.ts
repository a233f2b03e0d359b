/**
 * Everything the agent sends about jobs goes through here: statuses at once,
 * log lines in batches (every 100 ms or 200 lines). While the socket is down
 * messages wait in a bounded queue and are sent, in order, after the next
 * hello. When the queue is full, old log batches go first, then old statuses.
 */
import type { MessageBody } from "../src/protocol/hub";

export type OutMessage =
  | { type: "job.status"; body: MessageBody<"job.status"> }
  | { type: "log"; body: MessageBody<"log"> };

/** Sends one message; returns false when there is no open socket. */
export type Sender = (msg: OutMessage) => boolean;

export interface OutboxOptions {
  flushMs?: number;
  maxLines?: number;
  /** Characters per batch, so one envelope stays well under the 4 MiB body limit. */
  maxBatchChars?: number;
  maxPending?: number;
  onDrop?: (dropped: OutMessage) => void;
}

type Stream = "build" | "runtime";

interface Batch {
  deploymentId: string;
  stream: Stream;
  lines: string[];
  chars: number;
}

export class Outbox {
  private batches = new Map<string, Batch>();
  private pending: OutMessage[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly flushMs: number;
  private readonly maxLines: number;
  private readonly maxBatchChars: number;
  private readonly maxPending: number;

  constructor(
    private readonly send: Sender,
    private readonly opts: OutboxOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 100;
    this.maxLines = opts.maxLines ?? 200;
    this.maxBatchChars = opts.maxBatchChars ?? 1024 * 1024;
    this.maxPending = opts.maxPending ?? 1000;
  }

  /** Messages waiting for a connection. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Sends a status, after any log lines of that deployment still batched. */
  status(body: MessageBody<"job.status">): void {
    this.flushDeployment(body.deployment_id);
    this.deliver({ type: "job.status", body });
  }

  /** Adds one log line to its deployment's batch. */
  log(deploymentId: string, stream: Stream, line: string): void {
    const key = `${deploymentId}\n${stream}`;
    let b = this.batches.get(key);
    if (!b) {
      b = { deploymentId, stream, lines: [], chars: 0 };
      this.batches.set(key, b);
    }
    b.lines.push(line);
    b.chars += line.length;
    if (b.lines.length >= this.maxLines || b.chars >= this.maxBatchChars) this.flushBatch(key);
    else this.timer ??= setTimeout(() => this.flushAll(), this.flushMs);
  }

  /** Sends every batched log line now. */
  flushAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const key of [...this.batches.keys()]) this.flushBatch(key);
  }

  /** After (re)connecting: sends what waited, oldest first, until the socket refuses. */
  resend(): void {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (!this.send(next)) return;
      this.pending.shift();
    }
  }

  /** Stops the flush timer (shutdown). Batched lines are flushed first. */
  close(): void {
    this.flushAll();
  }

  private flushDeployment(deploymentId: string): void {
    for (const [key, b] of this.batches) if (b.deploymentId === deploymentId) this.flushBatch(key);
  }

  private flushBatch(key: string): void {
    const b = this.batches.get(key);
    if (!b) return;
    this.batches.delete(key);
    if (b.lines.length > 0) this.deliver({ type: "log", body: { deployment_id: b.deploymentId, stream: b.stream, lines: b.lines } });
  }

  private deliver(msg: OutMessage): void {
    // Keep order: nothing overtakes messages already waiting.
    if (this.pending.length === 0 && this.send(msg)) return;
    this.pending.push(msg);
    if (this.pending.length > this.maxPending) {
      const i = this.pending.findIndex((m) => m.type === "log");
      const [dropped] = this.pending.splice(i >= 0 ? i : 0, 1);
      if (dropped) this.opts.onDrop?.(dropped);
    }
  }
}
