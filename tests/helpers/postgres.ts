/**
 * A real PostgreSQL for the tests, never a mock. With GEARBOX_TEST_POSTGRES_URL
 * set (a role that may CREATE DATABASE), the tests use that server. Otherwise
 * one throwaway cluster per test process: `initdb` and `pg_ctl` (found on the
 * PATH, else in `pg_config --bindir`, else in /usr/lib/postgresql/N/bin) in a
 * temporary directory, trust authentication, listening on 127.0.0.1 on a free
 * port and on a socket in that directory, run as the `postgres` user when the
 * tests run as root. It is stopped (`pg_ctl stop -m immediate`) and its
 * directory removed when the process exits.
 *
 * Each test (or suite) takes a database of its own from {@link TestPostgres.createDatabase}.
 * A throwaway cluster can also be stopped and started again ({@link TestPostgres.restart}),
 * for the tests of a database outage; it is shared by every test file of the
 * process, so a test that stops it must start it again in a `finally`.
 * Without either, {@link testPostgres} gives the reason the suites skip.
 *
 * @module
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { openPostgres, type PgPool } from "../../src/runtime/postgres.ts";
import { freePort } from "./free_port.ts";

export interface TestPostgres {
  /** Where it came from, for messages: `GEARBOX_TEST_POSTGRES_URL` or the throwaway cluster's port. */
  readonly origin: string;
  /** How long starting it took (0 for a server given by URL). */
  readonly startMs: number;
  /** A new empty database; its URL. Dropped by {@link dropDatabases}. */
  createDatabase(): Promise<string>;
  /** Drops every database this process created (connections to them are closed first). */
  dropDatabases(): Promise<void>;
  /** Stops and starts the server: only a throwaway cluster this process started (undefined for a server given by URL). */
  readonly restart?: ClusterRestart;
}

/** A throwaway cluster's stop (`pg_ctl stop -m fast`: sessions ended, as in a real restart) and start, same port. */
export interface ClusterRestart {
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and starts it again (started even when the stop failed): a restart with no load between. */
  bounce(): Promise<void>;
}

/** Why an outage test skips on a server it did not start. */
export const NO_RESTART = "GEARBOX_TEST_POSTGRES_URL is set: the tests do not stop and start a server they did not start";

export type Availability = { ok: true; pg: TestPostgres } | { ok: false; skip: string };

/** Runs one statement on a database directly, on a connection of its own, as another program would. */
export async function sqlOn(url: string, text: string, params: (string | number)[] = []): Promise<Record<string, unknown>[]> {
  const db = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-tests" });
  try {
    return await db.query(text, params);
  } finally {
    await db.end();
  }
}

let shared: Promise<Availability> | undefined;

/** The process's PostgreSQL, started on first use. */
export function testPostgres(): Promise<Availability> {
  return shared ??= start();
}

async function start(): Promise<Availability> {
  const given = process.env.GEARBOX_TEST_POSTGRES_URL;
  if (given) return { ok: true, pg: serverAt(given, "GEARBOX_TEST_POSTGRES_URL", 0) };
  return await startCluster({ fsync: false });
}

/**
 * A throwaway cluster of this process, stopped and removed at exit. `fsync`:
 * off for the tests (they check what the store commits, not the disk's
 * power-loss behaviour); on for a benchmark of durable commits.
 */
export async function startCluster(options: { fsync: boolean }): Promise<Availability> {
  const bin = findBinDir();
  if (!bin) {
    return {
      ok: false,
      skip: "PostgreSQL is not installed (no initdb/pg_ctl; install Debian's postgresql or set GEARBOX_TEST_POSTGRES_URL)",
    };
  }
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userIds("postgres") : undefined;
  if (asRoot && !owner) return { ok: false, skip: "running as root and there is no postgres user to run PostgreSQL as" };
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "gearbox-pg-"));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  const run = (cmd: string, args: string[]) =>
    exec(owner ? "runuser" : join(bin, cmd), owner ? ["-u", "postgres", "--", join(bin, cmd), ...args] : args);
  const data = join(dir, "data");
  const port = await freePort();
  const stop = () => {
    const args = ["stop", "-D", data, "-m", "immediate"];
    spawnSync(owner ? "runuser" : join(bin, "pg_ctl"), owner ? ["-u", "postgres", "--", join(bin, "pg_ctl"), ...args] : args);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  const durability = options.fsync ? "" : " -c fsync=off -c full_page_writes=off";
  const server = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=200${durability}`;
  const restart: ClusterRestart = {
    start: () => run("pg_ctl", ["start", "-D", data, "-l", join(dir, "log"), "-w", "-t", "30", "-o", server]),
    stop: () => run("pg_ctl", ["stop", "-D", data, "-m", "fast", "-w", "-t", "30"]),
    async bounce() {
      try {
        await restart.stop();
      } finally {
        await restart.start();
      }
    },
  };
  try {
    await run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C"]);
    await restart.start();
  } catch (e) {
    stop();
    return { ok: false, skip: `a throwaway PostgreSQL cluster did not start: ${(e as Error).message.slice(0, 300)}` };
  }
  return {
    ok: true,
    pg: { ...serverAt(`postgres://postgres@127.0.0.1:${port}/postgres`, `a throwaway cluster on port ${port}`, Date.now() - t0), restart },
  };
}

function serverAt(adminUrl: string, origin: string, startMs: number): TestPostgres {
  const created: string[] = [];
  let admin: PgPool | undefined;
  const pool = () => admin ??= openPostgres(adminUrl, { max: 1, connectTimeoutS: 10, applicationName: "gearbox-tests" });
  return {
    origin,
    startMs,
    async createDatabase() {
      const name = `gearbox_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      await pool().query(`CREATE DATABASE ${name}`);
      created.push(name);
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async dropDatabases() {
      for (const name of created.splice(0)) await pool().query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin?.end();
      admin = undefined;
    },
  };
}

/** A directory holding both initdb and pg_ctl: the PATH, then `pg_config --bindir`, then Debian's versioned ones. */
function findBinDir(): string | undefined {
  const has = (d: string) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl"));
  for (const d of (process.env.PATH ?? "").split(delimiter)) if (d && has(d)) return d;
  const pgConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  const fromConfig = pgConfig.status === 0 ? pgConfig.stdout.trim() : "";
  if (fromConfig && has(fromConfig)) return fromConfig;
  const debian = "/usr/lib/postgresql";
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(debian, v, "bin")).find(has);
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function exec(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: tmpdir() },
      (err, _out, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve()),
    );
  });
}
