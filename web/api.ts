/**
 * The dashboard's one API client. Request and response types come from the
 * zod schemas the server validates with (src/protocol/api.ts).
 */
import type { Deployment, Project, ProjectCreate, Worker } from "../src/protocol/api";

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let token = sessionStorage.getItem("wh_token") ?? "";
export const setToken = (t: string) => {
  token = t;
  if (t) sessionStorage.setItem("wh_token", t);
  else sessionStorage.removeItem("wh_token");
};
export const hasToken = () => token !== "";

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiFailure(res.status, json?.error?.code ?? "error", json?.error?.message ?? res.statusText);
  return json as T;
}

export const api = {
  projects: () => request<{ projects: Project[] }>("GET", "/v1/projects"),
  createProject: (p: Partial<ProjectCreate>) => request<Project>("POST", "/v1/projects", p),
  deleteProject: (id: string) => request<void>("DELETE", `/v1/projects/${id}`),
  deployments: (id: string) => request<{ deployments: Deployment[] }>("GET", `/v1/projects/${id}/deployments`),
  deploy: (id: string) => request<{ id: string; status: "queued" }>("POST", `/v1/projects/${id}/deployments`),
  action: (id: string, action: "stop" | "start" | "restart") => request<Deployment>("POST", `/v1/projects/${id}/${action}`),
  workers: () => request<{ workers: Worker[] }>("GET", "/v1/workers"),
  /** Streams a deployment's log text, calling onText with each chunk. */
  async followLogs(id: string, onText: (t: string) => void, signal: AbortSignal) {
    const res = await fetch(`/v1/deployments/${id}/logs?follow=true`, { headers: { authorization: `Bearer ${token}` }, signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onText(value);
    }
  },
};
