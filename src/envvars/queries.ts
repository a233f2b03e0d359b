import type { Sql } from "postgres";

export async function listEnv(sql: Sql, projectId: string): Promise<{ key: string; value_enc: string; build: boolean }[]> {
  return sql<{ key: string; value_enc: string; build: boolean }[]>`
    SELECT key, value_enc, build FROM env_vars WHERE project_id = ${projectId} ORDER BY key`;
}

/** Keys of the project's build-time variables. */
export async function listBuildKeys(sql: Sql, projectId: string): Promise<string[]> {
  const rows = await sql<{ key: string }[]>`SELECT key FROM env_vars WHERE project_id = ${projectId} AND build ORDER BY key`;
  return rows.map((r) => r.key);
}

/** Replaces the whole set in one transaction: the old set or the new one, never a mix. */
export async function replaceEnv(sql: Sql, projectId: string, rows: { key: string; value_enc: string; build: boolean }[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT id FROM projects WHERE id = ${projectId} FOR UPDATE`;
    await tx`DELETE FROM env_vars WHERE project_id = ${projectId}`;
    if (rows.length > 0)
      await tx`INSERT INTO env_vars ${tx(rows.map((r) => ({ project_id: projectId, ...r })), "project_id", "key", "value_enc", "build")}`;
  });
}
