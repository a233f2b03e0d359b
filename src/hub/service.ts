/**
 * The live sockets of connected workers, and the one way to send them a job:
 * a sealed envelope (HMAC with the worker's key). Knows nothing of what jobs mean.
 */
import { seal, type MessageBody, type MessageType } from "../protocol/hub";

export type HubSocket = { send(data: string): unknown; close(code?: number, reason?: string): void };

type Conn = { ws: HubSocket; macKey: Buffer; expiresAt: number; expiryTimer: ReturnType<typeof setTimeout> };

export class Hub {
  private conns = new Map<string, Conn>();

  /** Registers a worker's socket, closing an older one of the same worker. */
  attach(workerId: string, ws: HubSocket, macKey: Buffer, expiresAt: number): void {
    const old = this.conns.get(workerId);
    if (old && old.ws !== ws) {
      clearTimeout(old.expiryTimer);
      old.ws.close(4000, "replaced by a newer connection");
    }
    this.conns.set(workerId, { ws, macKey, expiresAt, expiryTimer: this.expiryTimer(ws, expiresAt) });
  }

  /** Moves the socket's deadline to a refreshed token's expiry. */
  extend(workerId: string, ws: HubSocket, expiresAt: number): boolean {
    const c = this.conns.get(workerId);
    if (!c || c.ws !== ws) return false;
    clearTimeout(c.expiryTimer);
    c.expiresAt = expiresAt;
    c.expiryTimer = this.expiryTimer(ws, expiresAt);
    return true;
  }

  private expiryTimer(ws: HubSocket, expiresAt: number) {
    return setTimeout(() => ws.close(4001, "token expired"), Math.max(0, expiresAt - Date.now()));
  }

  /** Forgets the socket if it is still the worker's current one; true when it was. */
  detach(workerId: string, ws: HubSocket): boolean {
    const c = this.conns.get(workerId);
    if (!c || c.ws !== ws) return false;
    clearTimeout(c.expiryTimer);
    this.conns.delete(workerId);
    return true;
  }

  isConnected(workerId: string): boolean {
    return this.conns.has(workerId);
  }

  macKeyOf(workerId: string): Buffer | undefined {
    return this.conns.get(workerId)?.macKey;
  }

  /** Sends a job; false when the worker is not connected (the caller decides what that means). */
  send<T extends MessageType>(workerId: string, type: T, body: MessageBody<T>): boolean {
    const c = this.conns.get(workerId);
    if (!c) return false;
    c.ws.send(JSON.stringify(seal(c.macKey, type, body)));
    return true;
  }

  /** Closes a worker's socket (deleted, or silent too long). */
  disconnect(workerId: string, reason: string): void {
    const c = this.conns.get(workerId);
    if (!c) return;
    clearTimeout(c.expiryTimer);
    this.conns.delete(workerId);
    c.ws.close(4002, reason);
  }

  closeAll(): void {
    for (const [id] of this.conns) this.disconnect(id, "control plane shutting down");
  }
}
