import type { Sql } from "postgres";
import type { ProjectCreate, ProjectPatch } from "../protocol/api";

export type ProjectRow = {
  id: string;
  owner_id: string;
  name: string;
  repo_url: string;
  branch: string;
  dockerfile: string | null;
  port: number;
  memory_mb: number;
  cpus: number;
  health_path: string;
  build_timeout_s: number;
  current_deployment_id: string | null;
  current_status: string | null;
  worker_id: string | null;
  created_at: Date;
  updated_at: Date;
};

/** Who may see a project: its owner, or any admin. */
export type Viewer = { id: string; role: "admin" | "member" };

const visible = (sql: Sql, v: Viewer) => (v.role === "admin" ? sql`true` : sql`p.owner_id = ${v.id}`);

const columns = (sql: Sql) => sql`
  p.id, p.owner_id, p.name, p.repo_url, p.branch, p.dockerfile, p.port, p.memory_mb, p.cpus, p.health_path, p.build_timeout_s,
  p.current_deployment_id, d.status AS current_status, d.worker_id, p.created_at, p.updated_at`;

export async function listProjects(sql: Sql, v: Viewer): Promise<ProjectRow[]> {
  return sql<ProjectRow[]>`
    SELECT ${columns(sql)} FROM projects p LEFT JOIN deployments d ON d.id = p.current_deployment_id
    WHERE ${visible(sql, v)} ORDER BY p.created_at DESC LIMIT 1000`;
}

export async function findProject(sql: Sql, v: Viewer, id: string): Promise<ProjectRow | undefined> {
  const [row] = await sql<ProjectRow[]>`
    SELECT ${columns(sql)} FROM projects p LEFT JOIN deployments d ON d.id = p.current_deployment_id
    WHERE p.id = ${id} AND ${visible(sql, v)}`;
  return row;
}

export async function insertProject(sql: Sql, ownerId: string, p: ProjectCreate): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO projects (owner_id, name, repo_url, branch, dockerfile, port, memory_mb, cpus, health_path, build_timeout_s)
    VALUES (${ownerId}, ${p.name}, ${p.repo_url}, ${p.branch}, ${p.dockerfile}, ${p.port}, ${p.memory_mb}, ${p.cpus}, ${p.health_path}, ${p.build_timeout_s})
    RETURNING id`;
  return row!.id;
}

export async function updateProject(sql: Sql, v: Viewer, id: string, patch: ProjectPatch): Promise<boolean> {
  const keys = Object.keys(patch) as (keyof ProjectPatch)[];
  if (keys.length === 0) return (await findProject(sql, v, id)) !== undefined;
  const rows = await sql`
    UPDATE projects p SET ${sql(patch, keys)}, updated_at = now()
    WHERE p.id = ${id} AND ${visible(sql, v)} RETURNING p.id`;
  return rows.length === 1;
}

export async function deleteProject(sql: Sql, id: string): Promise<void> {
  await sql`DELETE FROM projects WHERE id = ${id}`;
}
