import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded.ts";

const root = mkdtempSync(join(tmpdir(), "wh-embedded-"));
// Creating a database (initdb inside WASM) takes ~3 s; give tests room.
const SLOW = 30_000;
afterAll(() => rmSync(root, { recursive: true, force: true }));

function connect(pg: EmbeddedPostgres, extra: postgres.Options<{}> = {}) {
  return postgres(pg.url, { path: pg.path, max: pg.maxConnections, onnotice: () => {}, ...extra });
}

// Shared by the tests below, which run in order: created by the first one.
const dir = join(root, "main");

describe("embedded postgres", () => {
  test("first start creates the database; queries, concurrency, transactions, advisory locks", async () => {
    const pg = await startEmbeddedPostgres(dir);
    const sql = connect(pg);
    try {
      expect(pg.created).toBe(true);
      expect(pg.maxConnections).toBe(1);
      expect(pg.path).toBe(join(dir, ".s.PGSQL.5432"));
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe(String(process.pid));

      const [v] = await sql`select version() as v`;
      expect(v!.v).toStartWith("PostgreSQL ");

      await sql`create table items(id int primary key, name text not null)`;
      await sql`insert into items ${sql([{ id: 1, name: "one" }, { id: 2, name: "two" }])}`;

      // 200 queries issued at once through the single connection: each must
      // get its own result back.
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => sql`select ${i}::int as n, repeat('x', ${i % 50}) as s`),
      );
      results.forEach((rows, i) => {
        expect(rows[0]!.n).toBe(i);
        expect(rows[0]!.s).toBe("x".repeat(i % 50));
      });

      // Committed and rolled-back transactions, interleaved with plain queries.
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          sql
            .begin(async (tx) => {
              await tx`insert into items values (${100 + i}, ${"tx" + i})`;
              const [c] = await tx`select count(*)::int as c from items where id = ${100 + i}`;
              if (i % 4 === 0) throw new Error("rollback");
              return c!.c;
            })
            .catch((e: Error) => e.message),
        ),
      );
      outcomes.forEach((o, i) => expect(o).toBe(i % 4 === 0 ? "rollback" : 1));
      const [count] = await sql`select count(*)::int as c from items where id >= 100`;
      expect(count!.c).toBe(15);

      // A failing statement inside a transaction rolls the whole thing back.
      await expect(
        sql.begin(async (tx) => {
          await tx`insert into items values (3, 'three')`;
          await tx`insert into items values (1, 'duplicate')`;
        }),
      ).rejects.toThrow(/duplicate key/);
      expect(await sql`select 1 from items where id = 3`).toHaveLength(0);

      // Migrations serialise on advisory locks.
      await sql`select pg_advisory_lock(4242)`;
      const [held] = await sql`select count(*)::int as c from pg_locks where locktype = 'advisory' and objid = 4242`;
      expect(held!.c).toBe(1);
      const [un] = await sql`select pg_advisory_unlock(4242) as ok`;
      expect(un!.ok).toBe(true);
      const [tx] = await sql.begin((tx) => tx`select pg_try_advisory_xact_lock(4243) as ok`);
      expect(tx!.ok).toBe(true);
    } finally {
      await sql.end();
      await pg.stop();
    }
    expect(existsSync(join(dir, "lock"))).toBe(false);
    expect(existsSync(join(dir, ".s.PGSQL.5432"))).toBe(false);
  }, SLOW);

  test("restart on the same dir sees the data", async () => {
    const pg = await startEmbeddedPostgres(dir);
    const sql = connect(pg);
    try {
      expect(pg.created).toBe(false);
      const rows = await sql`select id, name from items where id < 100 order by id`;
      expect(rows.map((r) => [r.id, r.name])).toEqual([
        [1, "one"],
        [2, "two"],
      ]);
    } finally {
      await sql.end();
      await pg.stop();
    }
  }, SLOW);

  test("client reconnects after its idle connection closed", async () => {
    const pg = await startEmbeddedPostgres(dir);
    const sql = connect(pg, { idle_timeout: 0.1 });
    try {
      for (let i = 0; i < 3; i++) {
        const [r] = await sql`select ${i}::int as i`;
        expect(r!.i).toBe(i);
        await Bun.sleep(300); // > idle_timeout: postgres.js closes, next query reconnects
      }
    } finally {
      await sql.end();
      await pg.stop();
    }
  }, SLOW);

  test("stop() with a client still connected does not hang and is idempotent", async () => {
    const pg = await startEmbeddedPostgres(dir);
    const sql = connect(pg);
    await sql`select 1`;
    await pg.stop();
    await pg.stop();
    await expect(sql`select 1`).rejects.toThrow();
    await sql.end({ timeout: 0 });
    expect(existsSync(join(dir, "lock"))).toBe(false);
  }, SLOW);

  test("falls back to TCP on 127.0.0.1 when the socket path would be too long for sun_path", async () => {
    const long = join(root, "d".repeat(90));
    const pg = await startEmbeddedPostgres(long);
    const sql = connect(pg);
    try {
      expect(pg.path).toBeUndefined();
      expect(pg.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const [r] = await sql`select 7 as n`;
      expect(r!.n).toBe(7);
    } finally {
      await sql.end();
      await pg.stop();
    }
  }, SLOW);
});

describe("data dir lock", () => {
  test("a second open in the same process is refused", async () => {
    const pg = await startEmbeddedPostgres(dir);
    try {
      await expect(startEmbeddedPostgres(dir)).rejects.toThrow(/already open in this process/);
      expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe(String(process.pid));
    } finally {
      await pg.stop();
    }
  }, SLOW);

  test("another live process is refused; after it is killed its stale lock is taken over and committed data survives", async () => {
    const child = Bun.spawn(
      [
        process.execPath,
        "-e",
        `
        import postgres from "postgres";
        import { startEmbeddedPostgres } from ${JSON.stringify(join(import.meta.dir, "embedded.ts"))};
        const pg = await startEmbeddedPostgres(${JSON.stringify(dir)});
        const sql = postgres(pg.url, { path: pg.path, max: 1, onnotice: () => {} });
        await sql\`create table if not exists crash(x int)\`;
        await sql\`insert into crash values (42)\`;
        console.log("ready");
        await new Promise(() => {});
        `,
      ],
      { cwd: import.meta.dir, stdout: "pipe", stderr: "inherit" },
    );
    try {
      const reader = child.stdout.getReader();
      let out = "";
      while (!out.includes("ready")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`child exited before ready: ${out}`);
        out += new TextDecoder().decode(value);
      }
      await expect(startEmbeddedPostgres(dir)).rejects.toThrow(`in use by process ${child.pid}`);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    // The killed process left its lock (and socket) behind.
    expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe(String(child.pid));

    const pg = await startEmbeddedPostgres(dir);
    const sql = connect(pg);
    try {
      expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe(String(process.pid));
      expect((await sql`select x from crash`).map((r) => r.x)).toEqual([42]);
    } finally {
      await sql.end();
      await pg.stop();
    }
  }, SLOW);

  test("a lock holding our own pid from a previous run (e.g. pid 1 in a restarted container) is stale", async () => {
    writeFileSync(join(dir, "lock"), `${process.pid}\n`);
    const pg = await startEmbeddedPostgres(dir);
    expect(pg.created).toBe(false);
    expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe(String(process.pid));
    await pg.stop();
  }, SLOW);
});
