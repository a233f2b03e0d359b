/**
 * The agent's connection to the control plane: the signed WebSocket,
 * hello, heartbeats, reconnects with backoff, and job dispatch to tasks/.
 * Identity and tokens live in hub-session.ts.
 */
import {
  macKeyFromApiKey,
  NonceCache,
  open,
  seal,
  type ContainerJob,
  type ContainerReport,
  type DeployJob,
  type MessageBody,
  type MessageType,
} from "../src/protocol/hub";
import { AGENT_VERSION, type AgentConfig } from "./config";
import { hubSocketUrl } from "./hub-http";
import { FatalError, HubSession } from "./hub-session";
import { JobQueue } from "./job-queue";
import { log } from "./log";
import { Outbox, type OutMessage } from "./outbox";
import { countRunning } from "./reconcile";
import { errorText, sleep, type JobStatus, type TaskContext } from "./tasks/context";
import { podmanTasks, type Tasks } from "./tasks/index";
import { RuntimeLogs } from "./tasks/runtime-logs";
import { BuildSlots } from "./build-slots";
// stats (metrics feature)
import { defaultStatsSources, StatsSampler, type StatsSources } from "./stats";

export { FatalError, type Tasks };


export interface HubClientOptions {
  config: AgentConfig;
  tasks?: Partial<Tasks>;
  /** Called once with a FatalError; the default logs it and exits with status 1. */
  onFatal?: (err: FatalError) => void;
  heartbeatMs?: number;
  /** Extra TaskContext settings (health timeouts in tests). */
  taskOptions?: Pick<TaskContext, "healthTimeoutMs" | "healthIntervalMs">;
  // stats (metrics feature): sample interval (default 10 s) and sources (default podman and /proc).
  stats?: { intervalMs?: number; sources?: StatsSources };
}

/**
 * Close codes after which the next attempt logs in first: 4001 bad or
 * expired token, 4002 worker deleted (login then fails for good), 1008 policy.
 */
const AUTH_CLOSE_CODES = new Set([1008, 4001, 4002]);

/** Bun's WebSocket client takes headers; the DOM typings don't know that. */
type BunWebSocket = new (url: string, options: Bun.WebSocketOptions) => WebSocket;

/** Delay before reconnect attempt `attempt` (0-based): 0.5 s doubling to 30 s, jittered to 50–100 %. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.5 + random() * 0.5));
}

export class HubClient {
  private readonly config: AgentConfig;
  private readonly tasks: Tasks;
  private readonly onFatal: (err: FatalError) => void;
  private readonly heartbeatMs: number;
  private readonly nonces = new NonceCache();
  private readonly queue = new JobQueue();
  private readonly outbox: Outbox;
  private readonly runtimeLogs: RuntimeLogs;
  private readonly ctx: TaskContext;
  private readonly stopController = new AbortController();
  // stats (metrics feature)
  private readonly stats: StatsSampler;

  private session: HubSession | undefined;
  private macKey: Buffer | undefined;
  private forceLogin = false;
  private ws: WebSocket | undefined;
  /** True once hello went out on the current socket. */
  private ready = false;
  private attempt = 0;
  private runningCount = 0;
  private countedAt = 0;
  private counting = false;
  /** Deploy jobs queued or running, per deployment: hello's active_deployments. */
  private activeDeploys = new Map<string, number>();
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(opts: HubClientOptions) {
    this.config = opts.config;
    this.tasks = { ...podmanTasks, ...opts.tasks };
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
    this.onFatal =
      opts.onFatal ??
      ((err) => {
        log.error(err.message);
        process.exit(1);
      });
    this.outbox = new Outbox((m) => this.trySend(m), {
      onDrop: (m) => log.warn(`outbox full while disconnected: dropped a ${m.type} message of ${m.body.deployment_id}`),
    });
    this.runtimeLogs = new RuntimeLogs((id, line) => this.outbox.log(id, "runtime", line));
    const c = this.config;
    this.ctx = {
      workerName: c.workerName,
      advertiseAddr: c.advertiseAddr,
      stateDir: c.stateDir,
      workDir: c.workDir,
      buildMemoryMb: c.buildMemoryMb,
      buildCpus: c.buildCpus,
      buildImages: c.buildImages,
      buildSlots: new BuildSlots(c.maxConcurrentBuilds ?? 2),
      report: (s) => this.outbox.status(s),
      log: (id, stream, line) => this.outbox.log(id, stream, line),
      runtimeLogs: this.runtimeLogs,
      warn: (m) => log.warn(m),
      ...opts.taskOptions,
    };
    // stats (metrics feature): container figures come from podman only when the
    // tasks are podman's too (tests with fake tasks never run podman).
    const sources = opts.stats?.sources ?? defaultStatsSources(c.workerName, c.stateDir);
    if (!opts.stats?.sources && this.tasks.listContainers !== podmanTasks.listContainers) sources.containers = async () => [];
    this.stats = new StatsSampler({ sources, intervalMs: opts.stats?.intervalMs, send: (body) => this.ready && this.sendTyped("stats", body) });
  }

  /** The worker id once registered. */
  get workerId(): string | null {
    return this.session?.workerId ?? null;
  }

  /** True while a socket is open and hello has been sent. */
  get connected(): boolean {
    return this.ready;
  }

  /**
   * Loads (or creates) state.json, then connects in the background, forever,
   * until {@link stop}. Throws a FatalError when a first registration is
   * needed but WH_WORKER_SECRET is missing, or state.json is unreadable.
   */
  async start(): Promise<void> {
    this.session = await HubSession.open(this.config, {
      onRefreshed: (token) => {
        if (this.ready) this.sendTyped("auth.refresh", { token: token.reveal() });
      },
      onFatal: (err) => void this.fatal(err),
    });
    this.macKey = macKeyFromApiKey(this.session.apiKey.reveal());
    this.loopDone = this.connectLoop();
  }

  /**
   * Graceful stop: cancels running jobs (builds stop; containers keep
   * running), ends log followers, flushes what can be sent and closes the
   * socket. A restarted agent picks the containers up again through hello.
   */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.stats.stop(); // stats (metrics feature)
    this.session?.close();
    this.queue.cancelAll();
    await Promise.race([this.queue.idle(), sleep(15_000)]);
    await this.runtimeLogs.stopAll();
    this.outbox.close();
    this.ws?.close(1000, "agent shutting down");
    await Promise.race([this.loopDone, sleep(2000)]);
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private async connectLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.session!.ensureToken(this.forceLogin);
        this.forceLogin = false;
        const { opened, lastedMs } = await this.connectOnce();
        // A socket that never opened may mean a rejected token or a deleted
        // worker: log in again next time, which tells the two apart.
        if (!opened) this.forceLogin = true;
        // Only a connection that held for a while resets the backoff, so a
        // hub that accepts and drops at once isn't hammered.
        if (lastedMs > 10_000) this.attempt = 0;
      } catch (err) {
        if (err instanceof FatalError) return this.fatal(err);
        log.warn(`hub: ${errorText(err)}`);
      }
      if (this.stopping) return;
      const delay = backoffDelay(this.attempt++);
      log.info(`hub: reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await sleep(delay, this.stopController.signal);
    }
  }

  /** Stops everything (log followers are child processes) and hands the error on. */
  private async fatal(err: FatalError): Promise<void> {
    this.stopController.abort();
    this.stats.stop(); // stats (metrics feature)
    this.session?.close();
    this.queue.cancelAll();
    this.ws?.close(1000, "agent stopping");
    await this.runtimeLogs.stopAll();
    this.onFatal(err);
  }

  /** One socket lifetime. Resolves when it closes: whether it opened, and for how long. */
  private connectOnce(): Promise<{ opened: boolean; lastedMs: number }> {
    return new Promise((resolve) => {
      let opened = false;
      let openedAt = 0;
      const ws = new (WebSocket as unknown as BunWebSocket)(hubSocketUrl(this.config.hubUrl), {
        headers: { Authorization: `Bearer ${this.session!.bearer.reveal()}` },
      });
      this.ws = ws;
      ws.onopen = () => {
        opened = true;
        openedAt = Date.now();
        void this.onOpen(ws);
      };
      ws.onmessage = (ev) => this.onMessage(ev.data);
      ws.onclose = (ev) => {
        if (this.ws === ws) this.ws = undefined;
        this.ready = false;
        if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
        if (AUTH_CLOSE_CODES.has(ev.code)) this.forceLogin = true;
        if (opened) log.warn(`hub: connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`);
        else log.warn(`hub: could not connect to ${hubSocketUrl(this.config.hubUrl)}`);
        resolve({ opened, lastedMs: opened ? Date.now() - openedAt : 0 });
      };
    });
  }

  private async onOpen(ws: WebSocket): Promise<void> {
    let containers: ContainerReport[];
    try {
      containers = await this.tasks.listContainers(this.config.workerName);
    } catch (err) {
      // Saying "no containers" when podman failed could make the hub give up on them.
      log.error(`podman ps failed, can't report containers: ${errorText(err)}`);
      ws.close(1011, "agent could not list containers");
      return;
    }
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    this.sendTyped("hello", {
      agent_version: AGENT_VERSION,
      active_deployments: [...this.activeDeploys.keys()],
      capacity_mb: this.config.memoryMb,
      address: this.config.advertiseAddr,
      containers,
    });
    this.ready = true;
    this.setRunning(countRunning(containers));
    log.info(`hub: connected, reported ${containers.length} container(s)`);
    this.outbox.resend();
    this.tasks.resumeLogs(containers, this.ctx);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatMs);
    // stats (metrics feature): a sample every 10 s, sent as `stats`. Started on the first
    // connect and kept running across reconnects: samples taken while the socket is down
    // (the last 60, 10 minutes) go out together once it is back.
    this.stats.start();
  }

  private heartbeat(): void {
    if (!this.ready) return;
    this.sendTyped("heartbeat", { running: this.runningCount });
    if (Date.now() - this.countedAt > 15_000) void this.recount();
  }

  private setRunning(n: number): void {
    this.runningCount = n;
    this.countedAt = Date.now();
  }

  private async recount(): Promise<void> {
    if (this.counting) return;
    this.counting = true;
    try {
      this.setRunning(countRunning(await this.tasks.listContainers(this.config.workerName)));
    } catch (err) {
      log.warn(`podman ps failed: ${errorText(err)}`);
    } finally {
      this.counting = false;
    }
  }

  private onMessage(data: unknown): void {
    const raw = typeof data === "string" ? data : Buffer.from(data as ArrayBuffer).toString("utf8");
    const msg = open(this.macKey!, raw, this.nonces);
    if (!msg.ok) {
      log.warn(`hub: dropped a message: ${msg.reason}`);
      return;
    }
    this.dispatch(msg.type, msg.body);
  }

  /** Highest placement epoch seen per deployment: a job from an older placement is stale and refused. */
  private readonly epochs = new Map<string, number>();

  /** Fencing: false (and logged) when `epoch` is older than one already seen for this deployment. */
  private fresh(deploymentId: string, epoch: number | undefined, type: string): boolean {
    if (epoch === undefined) return true;
    const seen = this.epochs.get(deploymentId) ?? 0;
    if (epoch < seen) {
      log.warn(`job: refused stale ${type} for ${deploymentId} (epoch ${epoch} < ${seen})`);
      return false;
    }
    this.epochs.set(deploymentId, epoch);
    return true;
  }

  private dispatch(type: MessageType, body: unknown): void {
    if (type.startsWith("job.")) {
      const job = body as { deployment_id: string; epoch?: number };
      if (!this.fresh(job.deployment_id, job.epoch, type)) return;
    }
    switch (type) {
      case "ack":
        return;
      case "welcome":
        log.info(`hub: welcome, worker ${(body as MessageBody<"welcome">).worker_id}`);
        return;
      case "error": {
        const e = body as MessageBody<"error">;
        log.warn(`hub: error ${e.code}: ${e.message}`);
        return;
      }
      case "job.deploy": {
        const job = body as DeployJob;
        const id = job.deployment_id;
        log.info(`job: deploy ${id} (${job.project_name})`);
        this.activeDeploys.set(id, (this.activeDeploys.get(id) ?? 0) + 1);
        this.runJob(id, (signal) => this.tasks.deploy(job, this.ctx, signal)).finally(() => {
          const n = (this.activeDeploys.get(id) ?? 1) - 1;
          if (n > 0) this.activeDeploys.set(id, n);
          else this.activeDeploys.delete(id);
        });
        return;
      }
      case "job.stop":
      case "job.remove": {
        const job = body as ContainerJob;
        log.info(`job: ${type.slice(4)} ${job.deployment_id}`);
        // Don't let a long build hold up the stop that makes it pointless.
        this.queue.cancelRunning(job.deployment_id, `${type} received`);
        void this.runJob(job.deployment_id, () => (type === "job.stop" ? this.tasks.stop(job, this.ctx) : this.tasks.remove(job, this.ctx)));
        return;
      }
      case "job.start":
      case "job.restart": {
        const job = body as ContainerJob;
        log.info(`job: ${type.slice(4)} ${job.deployment_id}`);
        const task = type === "job.start" ? this.tasks.start : this.tasks.restart;
        void this.runJob(job.deployment_id, (signal) => task(job, this.ctx, signal));
        return;
      }
      default:
        log.warn(`hub: unexpected message type ${type}`);
    }
  }

  private runJob(deploymentId: string, job: (signal: AbortSignal) => Promise<JobStatus>): Promise<void> {
    return this.queue.enqueue(
      deploymentId,
      async (signal) => {
        const status = await job(signal);
        log.info(`job: ${deploymentId} → ${status.status}${status.error ? ` (${status.error})` : ""}`);
        void this.recount();
      },
      (err) => this.outbox.status({ deployment_id: deploymentId, status: "failed", error: `agent error: ${errorText(err)}` }),
    );
  }

  private trySend(m: OutMessage): boolean {
    if (!this.ready) return false;
    return m.type === "log" ? this.sendTyped("log", m.body) : this.sendTyped("job.status", m.body);
  }

  /** Seals and sends; false when the socket isn't open. */
  private sendTyped<T extends MessageType>(type: T, body: MessageBody<T>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(seal(this.macKey!, type, body)));
    return true;
  }
}
