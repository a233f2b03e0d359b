/**
 * Embedded PostgreSQL for running without WH_DATABASE_URL.
 *
 * PGlite (Postgres compiled to WASM) keeps its data on disk and
 * @electric-sql/pglite-socket serves it over the PostgreSQL wire protocol, so
 * the rest of the control plane talks to it with postgres.js exactly as it
 * would to an external server: same client, same SQL, same migrations.
 *
 * Layout of `dataDir` (mode 0700, because PGlite creates its files 0666 and the
 * socket has no authentication; the directory is the only access control):
 *   data/           PGDATA of PGlite
 *   lock            pid of the process that owns the directory
 *   .s.PGSQL.5432   unix socket (postgres.js finds it from `path`)
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync, chmodSync } from "node:fs";
import { join, resolve } from "node:path";
// `type: "file"` makes `bun build --compile` embed these assets in the
// executable and yields a path Bun.file can read (inside the binary a
// /$bunfs/... path). PGlite's own loader looks for them next to its JS via
// import.meta.url, which in a compiled binary fails with ENOENT, so we load
// them ourselves. TypeScript has no declarations for asset imports (the value
// is a path string), hence the ts-ignore.
// @ts-ignore TS2307
import pgliteWasmPath from "@electric-sql/pglite/pglite.wasm" with { type: "file" };
// @ts-ignore TS2307
import initdbWasmPath from "@electric-sql/pglite/initdb.wasm" with { type: "file" };
// @ts-ignore TS2307
import fsBundlePath from "@electric-sql/pglite/pglite.data" with { type: "file" };

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** Connection URL for postgres.js (user `postgres`, database `postgres`, no password). */
  url: string;
  /**
   * Unix socket file to pass as postgres.js' `path` option, or undefined when
   * serving TCP on 127.0.0.1 (then `url` alone is enough). postgres.js cannot
   * take a socket path from a URL, hence the separate field.
   */
  path: string | undefined;
  /**
   * Connections the server handles correctly: pass as postgres.js `max` and
   * use a single client. Always 1, see the note on `startEmbeddedPostgres`.
   */
  maxConnections: number;
  /** True when this start created the database (initdb ran). */
  created: boolean;
  /** Closes the socket server and PGlite (flushing it to disk) and releases the lock. Idempotent. */
  stop(): Promise<void>;
}

const PORT = 5432;
// sun_path is 108 bytes on Linux, 104 on macOS; beyond that listen() fails.
const MAX_SOCKET_PATH = 100;
// Directories locked by this process, so a lock file holding our own pid is
// recognised as ours (double start) rather than stale. Without this a
// container restart, where we are pid 1 again, would look like "in use".
const heldLocks = new Set<string>();

/**
 * Starts PGlite persisted under `dataDir` and a socket server for it.
 *
 * Connect with `postgres(pg.url, { path: pg.path, max: pg.maxConnections })`.
 *
 * Limits (PGlite is one single-user backend; pglite-socket 0.2.17 forwards
 * each protocol message from every connection into it through one queue):
 * - One connection at a time. With several, messages of different
 *   connections interleave mid-query and results can go to the wrong caller,
 *   so the server accepts one connection; a second concurrent client (a
 *   second postgres.js instance, `sql.listen`) is not refused with an error
 *   but hangs. Use one postgres.js client with `max: 1`; it queues and
 *   pipelines.
 * - Inside `sql.begin(tx => …)` use only `tx`: a query on `sql` waits for the
 *   one connection the transaction holds and deadlocks.
 * - `sql.listen` needs its own connection, so it hangs (see above).
 * - Queries run in WASM on this thread: a slow query blocks the event loop.
 * - Advisory locks work (single session, so they only exclude other processes,
 *   which the directory lock already does).
 *
 * Throws if another live process holds `dataDir`.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // mkdir's mode does not apply to an existing directory
  const lockPath = join(dir, "lock");
  acquireLock(dir, lockPath);

  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let socketPath: string | undefined = join(dir, `.s.PGSQL.${PORT}`);
  if (socketPath.length > MAX_SOCKET_PATH) socketPath = undefined;
  try {
    const pgdata = join(dir, "data");
    const created = !(await Bun.file(join(pgdata, "PG_VERSION")).exists());
    const [pgliteWasmModule, initdbWasmModule, fsBundle] = await Promise.all([
      WebAssembly.compile(await Bun.file(pgliteWasmPath).arrayBuffer()),
      WebAssembly.compile(await Bun.file(initdbWasmPath).arrayBuffer()),
      Bun.file(fsBundlePath).arrayBuffer().then((b) => new Blob([b])),
    ]);
    db = await PGlite.create({ dataDir: pgdata, pgliteWasmModule, initdbWasmModule, fsBundle });

    // We hold the lock, so a socket file left here is from a dead process and
    // would make listen() fail with EADDRINUSE.
    if (socketPath) rmSync(socketPath, { force: true });
    server = socketPath
      ? new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 })
      : new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 });
    await server.start();

    // With `path` set postgres.js ignores the URL's host and port.
    const hostPort = socketPath ? `localhost:${PORT}` : server.getServerConn();
    const url = `postgres://postgres@${hostPort}/postgres`;

    let stopping: Promise<void> | undefined;
    const srv = server;
    const pg = db;
    const stop = () =>
      (stopping ??= (async () => {
        try {
          await srv.stop();
          await pg.close();
        } finally {
          if (socketPath) rmSync(socketPath, { force: true });
          releaseLock(dir, lockPath);
        }
      })());
    return { url, path: socketPath, maxConnections: 1, created, stop };
  } catch (err) {
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
    releaseLock(dir, lockPath);
    throw err;
  }
}

/**
 * Creates `lockPath` exclusively (O_EXCL) with our pid. An existing lock whose
 * pid is dead is taken over; two processes taking over the same stale lock at
 * the same instant could both succeed, which we accept as a narrow window.
 */
function acquireLock(dir: string, lockPath: string): void {
  if (heldLocks.has(dir)) throw new Error(`embedded PostgreSQL: ${dir} is already open in this process`);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldLocks.add(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (attempt >= 2) throw new Error(`embedded PostgreSQL: could not acquire lock file ${lockPath}`);
    }
    let pid = NaN;
    try {
      pid = Number.parseInt(readFileSync(lockPath, "utf8"), 10);
    } catch {} // vanished meanwhile: retry the create
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new Error(
        `embedded PostgreSQL: data dir ${dir} is in use by process ${pid} (lock file ${lockPath}); ` +
          `stop that process, or delete the lock file if it is not a WiseHosting server`,
      );
    }
    rmSync(lockPath, { force: true }); // stale: its owner is gone
  }
}

function releaseLock(dir: string, lockPath: string): void {
  if (!heldLocks.delete(dir)) return;
  rmSync(lockPath, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by another user
  }
}
