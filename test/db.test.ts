/**
 * SQL-level promises on a real PostgreSQL: migrations applied once by two
 * racing control planes; placement never over-commits a worker under
 * concurrency; a reservation is released once however often it's asked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { migrate, MIGRATIONS } from "../src/db/migrations";
import { insertDeployment, placeOnWorker, releaseReservation, transition } from "../src/deployments/queries";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

describe.skipIf(skip)("database", () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: postgres.Sql;
  let b: postgres.Sql;
  beforeAll(async () => {
    db = await freshDatabase();
    a = postgres(db.url, { max: 20, onnotice: () => {} });
    b = postgres(db.url, { max: 20, onnotice: () => {} });
  });
  afterAll(async () => {
    await a?.end();
    await b?.end();
    await db?.drop();
  });

  test("two control planes migrating at once apply each migration exactly once", async () => {
    const [x, y] = await Promise.all([migrate(a), migrate(b)]);
    expect([...x, ...y].sort((p, q) => p - q)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(a)).toEqual([]);
    const rows = await a`SELECT version FROM schema_migrations ORDER BY version`;
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  test("500 concurrent placements over 5 workers never over-commit", async () => {
    const [u] = await a`INSERT INTO users (email, role) VALUES ('p@example.com', 'admin') RETURNING id`;
    const [p] = await a`INSERT INTO projects (owner_id, name, repo_url) VALUES (${u!.id}, 'p', 'https://x.example/r') RETURNING id`;
    for (let i = 0; i < 5; i++) await a`INSERT INTO workers (name, api_key_hash, capacity_mb, status) VALUES (${"w" + i}, 'x', 1000, 'online')`;
    const deployments = [];
    for (let i = 0; i < 500; i++) deployments.push(await insertDeployment(a, p!.id, null));
    // 500 × 64 MB asks for 32,000 MB of 5,000: exactly 75 fit (15 per worker).
    const placed = await Promise.all(deployments.map((d, i) => placeOnWorker(i % 2 ? a : b, d.id, 64)));
    expect(placed.filter(Boolean).length).toBe(75);
    const workers = await a<{ allocated_mb: number; capacity_mb: number }[]>`SELECT allocated_mb, capacity_mb FROM workers`;
    for (const w of workers) expect(w.allocated_mb).toBeLessThanOrEqual(w.capacity_mb);
    const [sum] = await a`SELECT sum(reserved_mb)::int AS held, (SELECT sum(allocated_mb)::int FROM workers) AS allocated FROM deployments`;
    expect(sum!.held).toBe(sum!.allocated);
    expect(sum!.held).toBe(75 * 64);
  });

  test("a reservation is released once, and a state change happens once", async () => {
    const [d] = await a<{ id: string; worker_id: string }[]>`SELECT id, worker_id FROM deployments WHERE worker_id IS NOT NULL LIMIT 1`;
    const [before] = await a`SELECT allocated_mb FROM workers WHERE id = ${d!.worker_id}`;
    await Promise.all([releaseReservation(a, d!.id), releaseReservation(b, d!.id), releaseReservation(a, d!.id)]);
    const [after] = await a`SELECT allocated_mb FROM workers WHERE id = ${d!.worker_id}`;
    expect(after!.allocated_mb).toBe(before!.allocated_mb - 64);
    const moves = await Promise.all([transition(a, d!.id, "building", { commit_sha: "abc" }), transition(b, d!.id, "building", { commit_sha: "abc" })]);
    expect(moves.filter(Boolean).length).toBe(1);
    expect(await transition(a, d!.id, "running")).toBeUndefined(); // building → running skips starting: refused
    const row = await transition(a, d!.id, "starting");
    expect(row).toMatchObject({ status: "starting", commit_sha: "abc" });
    expect(row!.building_at).toBeInstanceOf(Date);
    expect(row!.starting_at).toBeInstanceOf(Date);
  });
});
