/**
 * The worker's identity and session with the control plane: state.json,
 * registration on first start, login afterwards, and a JWT kept fresh
 * (refreshed 2 minutes before it expires).
 */
import type { TokenResponse } from "../src/protocol/hub";
import type { AgentConfig } from "./config";
import { Sensitive } from "./exec";
import { expiresAtMs, HubHttpError, login, refreshToken, register } from "./hub-http";
import { log } from "./log";
import { loadState, newApiKey, saveState, statePath, type AgentState } from "./state";
import { errorText } from "./tasks/context";

/** The hub no longer accepts this worker (or never will): retrying can't help. */
export class FatalError extends Error {}

/** Refresh the token this long before it expires. */
export const REFRESH_BEFORE_MS = 2 * 60_000;

export interface SessionEvents {
  /** A refreshed token, to hand to the open socket (auth.refresh). */
  onRefreshed(token: Sensitive): void;
  /** Refresh found the worker gone. */
  onFatal(err: FatalError): void;
}

export class HubSession {
  private state: AgentState;
  private token: Sensitive | undefined;
  private expiresAt = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** The raw api key: the worker's password and the source of the MAC key. */
  readonly apiKey: Sensitive;

  private constructor(
    private readonly config: AgentConfig,
    state: AgentState,
    private readonly events: SessionEvents,
  ) {
    this.state = state;
    this.apiKey = new Sensitive(state.api_key);
  }

  /**
   * Loads state.json, or creates it with a new api key (saved before
   * registering, so a crash in between re-registers with the same key).
   * Throws a FatalError when registration is needed without WH_WORKER_SECRET
   * or the file is unreadable.
   */
  static async open(config: AgentConfig, events: SessionEvents): Promise<HubSession> {
    let state: AgentState | null;
    try {
      state = await loadState(config.stateDir);
    } catch (err) {
      throw new FatalError(errorText(err));
    }
    if (!state) {
      if (!config.workerSecret) {
        throw new FatalError(
          `this worker is not registered yet (no ${statePath(config.stateDir)}): set WH_WORKER_SECRET to the cluster secret for the first start`,
        );
      }
      state = { worker_id: null, api_key: newApiKey() };
      await saveState(config.stateDir, state);
    } else if (state.worker_id === null && !config.workerSecret) {
      throw new FatalError("registration never completed: set WH_WORKER_SECRET to the cluster secret");
    }
    return new HubSession(config, state, events);
  }

  get workerId(): string | null {
    return this.state.worker_id;
  }

  /** The current JWT; call {@link ensureToken} first. */
  get bearer(): Sensitive {
    if (!this.token) throw new Error("no token yet");
    return this.token;
  }

  /**
   * Registers (first start) or logs in, unless `force` is false and the
   * current token is good for more than 2 minutes. Network errors throw
   * plain Errors (retry later); a refusal throws a FatalError.
   */
  async ensureToken(force: boolean): Promise<void> {
    if (!force && this.token && this.expiresAt - Date.now() > REFRESH_BEFORE_MS) return;
    const workerId = this.state.worker_id;
    let t: TokenResponse;
    if (workerId === null) {
      try {
        t = await register(this.config.hubUrl, {
          secret: this.config.workerSecret!,
          apiKey: this.apiKey,
          name: this.config.workerName,
          capacityMb: this.config.memoryMb,
        });
      } catch (err) {
        if (err instanceof HubHttpError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
          throw new FatalError(`registration refused: ${err.message}`);
        }
        throw err;
      }
      this.state = { worker_id: t.worker_id, api_key: this.state.api_key };
      await saveState(this.config.stateDir, this.state);
      log.info(`hub: registered as worker ${t.worker_id} (${this.config.workerName})`);
    } else {
      try {
        t = await login(this.config.hubUrl, workerId, this.apiKey);
      } catch (err) {
        if (err instanceof HubHttpError && [401, 403, 404].includes(err.status)) {
          throw new FatalError(
            `the control plane refused worker ${workerId} (${err.message}); it was probably deleted. ` +
              `To join again, remove ${statePath(this.config.stateDir)} and start with WH_WORKER_SECRET set.`,
          );
        }
        throw err;
      }
    }
    this.setToken(t);
  }

  /** Stops the refresh timer. */
  close(): void {
    this.closed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
  }

  private setToken(t: TokenResponse): void {
    this.token = new Sensitive(t.token);
    this.expiresAt = expiresAtMs(t.expires_at);
    this.schedule(Math.max(5000, this.expiresAt - Date.now() - REFRESH_BEFORE_MS));
  }

  private schedule(inMs: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.closed) return;
    // Clamped: setTimeout fires at once for delays past 2^31 ms.
    this.refreshTimer = setTimeout(() => void this.refresh(), Math.min(inMs, 86_400_000));
  }

  private async refresh(): Promise<void> {
    if (this.closed || !this.token) return;
    try {
      try {
        this.setToken(await refreshToken(this.config.hubUrl, this.token));
      } catch (err) {
        if (!(err instanceof HubHttpError && err.status === 401)) throw err;
        await this.ensureToken(true); // the token is already bad: log in afresh
      }
      this.events.onRefreshed(this.token);
    } catch (err) {
      if (err instanceof FatalError) {
        this.close();
        this.events.onFatal(err);
        return;
      }
      log.warn(`hub: token refresh failed (${errorText(err)}); retrying in 15 s`);
      this.schedule(15_000);
    }
  }
}
