/**
 * What is left of a damaged store file: every job row SQLite can still
 * reach, in id order, stepping over pages it cannot read, each checked
 * against its checksums. `gearbox store check` reports it; `gearbox store
 * salvage` copies the jobs into a new store file. The damaged file is opened
 * read-only and never written.
 *
 * @module
 */
import { closeSync, copyFileSync, existsSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, truncateSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { type Database, openDatabase, type SqlValue } from "../runtime/sqlite.ts";
import { type ScheduleRow, type StoredJob, StoreError } from "./job_store.ts";
import { dataIntact, metaIntact, STATE_COLUMNS, toJob, workloadOf } from "./job_rows.ts";
import { APPLICATION_ID } from "./migrations.ts";
import { storeError } from "./sqlite_errors.ts";
import { pageProblems, removeStore } from "./sqlite_file.ts";
import { SqliteStore } from "./sqlite_store.ts";

/** A job the scan found damaged, with what its row still says (to resubmit it by hand). */
export interface DamagedJob {
  id: number;
  handle: string;
  function: string;
  unique: string;
}

export interface ScanReport {
  /** SQLite's quick_check complaints; empty when the pages are consistent. */
  pageProblems: string[];
  /** Jobs whose row and workload passed their checksums (or, written before checksums, were read whole). */
  intact: number;
  /** Rows whose replayed columns fail their checksum. */
  damagedRows: DamagedJob[];
  /** Rows whose workload fails its checksum. */
  damagedWorkloads: DamagedJob[];
  /** Id ranges stepped over because SQLite could not read them: ids after `after` and below `before` (null: to the end). */
  unreadable: { after: number; before: number | null }[];
  /** The schedules' progress rows (next slot, state) that could be read; a salvage copies them too. */
  schedules: ScheduleRow[];
}

/** What the scan makes of each row it can read. */
export type RowVerdict = "intact" | "damaged row" | "damaged workload";

/** True when a report found nothing wrong. */
export function healthy(r: ScanReport): boolean {
  return r.pageProblems.length === 0 && r.damagedRows.length === 0 && r.damagedWorkloads.length === 0 && r.unreadable.length === 0;
}

const LOWEST = -Number.MAX_SAFE_INTEGER;
const HIGHEST = Number.MAX_SAFE_INTEGER;

/** One row the scan read, and what it made of it. */
export interface ScannedJob {
  job: StoredJob;
  verdict: RowVerdict;
}

/**
 * Reads every job row it can, in id order, yielding each with its verdict,
 * and returns the report once done; `progress` hears every 10,000 rows.
 * Throws a {@link StoreError} when the file cannot be read at all: missing,
 * locked by a running server, not a database, or not a gearbox store.
 */
export function* scanStore(path: string, progress?: (rows: number) => void): Generator<ScannedJob, ScanReport> {
  const source = readable(path);
  let db: Database;
  try {
    db = openDatabase(source.path, { readOnly: true });
  } catch (e) {
    source.discard();
    throw storeError(e, path);
  }
  try {
    const report = yield* scan(db, path, progress);
    if (source.note) report.pageProblems.unshift(source.note);
    scheduleRows(db, report);
    return report;
  } catch (e) {
    throw storeError(e, path);
  } finally {
    db.close();
    source.discard();
  }
}

/**
 * The schedules' rows (a store from before schedules has no table: none). A
 * damaged table is reported with the page problems: its schedules start afresh
 * from the configuration, as on a new store.
 */
function scheduleRows(db: Database, report: ScanReport): void {
  try {
    if (!db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schedule'").get()) return;
    for (const r of db.prepare("SELECT name, next_slot, state FROM schedule ORDER BY name").all()) {
      report.schedules.push({ name: String(r.name), nextSlot: Number(r.next_slot), state: String(r.state) });
    }
  } catch (e) {
    if (!unreadable(e)) throw e;
    report.pageProblems.push(`schedule rows unreadable (${(e as Error).message}); their schedules start afresh`);
  }
}

/**
 * The file to read: the store itself, or, when it is shorter than its header
 * says (cut off by a full disk or a bad copy), a temporary copy whose header
 * gives the pages that are there, since SQLite refuses to read such a file
 * at all. The store file is never written.
 */
function readable(path: string): { path: string; note?: string; discard: () => void } {
  const none = { path, discard: () => {} };
  const header = Buffer.alloc(100);
  let size: number;
  try {
    const fd = openSync(path, "r");
    try {
      if (readSync(fd, header, 0, 100, 0) < 100) return none;
      size = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch {
    return none; // opening it will say why
  }
  if (header.subarray(0, 16).toString("latin1") !== "SQLite format 3\0") return none;
  const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
  const pages = header.readUInt32BE(28);
  const present = Math.floor(size / pageSize);
  if (pageSize < 512 || present >= pages) return none;
  const dir = mkdtempSync(join(tmpdir(), "gearbox-salvage-"));
  const copy = join(dir, "store.db");
  copyFileSync(path, copy);
  truncateSync(copy, present * pageSize);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(present);
  const fd = openSync(copy, "r+");
  try {
    writeSync(fd, count, 0, 4, 28);
  } finally {
    closeSync(fd);
  }
  if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
  return {
    path: copy,
    note: `the file is shorter than its header says: ${present} of ${pages} pages`,
    discard: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function* scan(db: Database, path: string, progress?: (rows: number) => void): Generator<ScannedJob, ScanReport> {
  const appId = Number(db.prepare("PRAGMA application_id").get()?.application_id ?? 0);
  if (appId !== APPLICATION_ID) throw new StoreError("STORE_CORRUPT", `${path} is not a gearbox store (application_id ${appId})`);
  const report: ScanReport = { pageProblems: [], intact: 0, damagedRows: [], damagedWorkloads: [], unreadable: [], schedules: [] };
  try {
    report.pageProblems = pageProblems(db, 20);
  } catch (e) {
    if (!unreadable(e)) throw e;
    report.pageProblems = [(e as Error).message]; // too damaged to finish the check: read what rows remain all the same
  }

  // Older files lack later columns: they read as NULL (no failures, no checksum).
  const present = new Set(db.prepare("PRAGMA table_info(job)").all().map((r) => String(r.name)));
  const column = (c: string) => (present.has(c) ? c : `NULL AS ${c}`);
  const columns = [...STATE_COLUMNS, "data", "meta_crc", "data_crc"].map(column).join(", ");
  const rows = db.prepare(`SELECT ${columns} FROM job WHERE id > ? ORDER BY id`);
  const next = db.prepare("SELECT id FROM job WHERE id > ? ORDER BY id LIMIT 1");

  let after = LOWEST;
  let read = 0;
  for (;;) {
    try {
      for (const r of rows.iterate(after)) {
        const job = toJob(r);
        job.data = workloadOf(r.data);
        after = job.id;
        const verdict = judge(r, job);
        if (verdict === "intact") report.intact++;
        else (verdict === "damaged row" ? report.damagedRows : report.damagedWorkloads).push(describe(job));
        yield { job, verdict };
        if (++read % 10_000 === 0) progress?.(read);
      }
      return report;
    } catch (e) {
      if (!unreadable(e)) throw e;
      const gap = { after, before: null as number | null };
      report.unreadable.push(gap);
      // A row whose own pages are damaged can still be found by its id: step
      // over just that row. If even the seek fails, search for where seeks work again.
      const failing = idAfter(next, after);
      const resume = failing === null ? undefined : failing ?? nextReadable(next, after);
      if (resume === undefined) return report;
      after = resume; // each pass moves past the last: the loop ends
      gap.before = idAfter(next, resume) ?? null;
      if (gap.before === null) return report;
    }
  }
}

/** Runs a scan to its end and gives its report. */
export function checkStore(path: string, progress?: (rows: number) => void): ScanReport {
  const scan = scanStore(path, progress);
  for (;;) {
    const step = scan.next();
    if (step.done) return step.value;
  }
}

/** What `salvageStore` copied, besides the scan's report. */
export interface SalvageResult {
  report: ScanReport;
  copied: number;
}

/**
 * Copies the jobs of a damaged store into a new store file `to` (which must
 * not exist): every intact job, with its id, handle, failure log and ending;
 * damaged ones too when `keepDamaged` (as read, with new checksums); and the
 * schedules' progress rows, so no slot is fired again or lost.
 */
export async function salvageStore(
  from: string,
  to: string,
  options: { keepDamaged?: boolean } = {},
  progress?: (rows: number) => void,
): Promise<SalvageResult> {
  const target = new SqliteStore(to);
  await target.open();
  let copied = 0;
  let done = false;
  try {
    const scan = scanStore(from, progress);
    let batch: StoredJob[] = [];
    for (;;) {
      const step = scan.next();
      if (!step.done && (step.value.verdict === "intact" || options.keepDamaged)) batch.push(step.value.job);
      if (batch.length === 1000 || (step.done && batch.length > 0)) {
        await target.commit({ add: batch, remove: [] });
        copied += batch.length;
        batch = [];
      }
      if (step.done) {
        if (step.value.schedules.length > 0) await target.commit({ add: [], remove: [], schedules: step.value.schedules });
        done = true;
        return { report: step.value, copied };
      }
    }
  } finally {
    await target.close();
    // A file that could not be read at all leaves no empty store behind to be mistaken for a salvage.
    if (!done) removeStore(to);
  }
}

function judge(r: Record<string, SqlValue>, job: StoredJob): RowVerdict {
  if (!metaIntact(r)) return "damaged row";
  if (job.data !== undefined && !dataIntact(job.data, r.data_crc)) return "damaged workload";
  return "intact";
}

function describe(j: StoredJob): DamagedJob {
  return { id: j.id, handle: j.handle, function: j.function, unique: j.unique };
}

function unreadable(e: unknown): boolean {
  return /SQLITE_CORRUPT|malformed|SQLITE_NOTADB|not a database|SQLITE_IOERR/i.test(e instanceof Error ? e.message : String(e));
}

/** Whether SQLite can seek past `id` without meeting a page it cannot read. */
function seekable(next: ReturnType<Database["prepare"]>, id: number): boolean {
  try {
    next.get(id);
    return true;
  } catch (e) {
    if (!unreadable(e)) throw e;
    return false;
  }
}

/** The first id past `id`; null when there is none, undefined when the seek meets damage. */
function idAfter(next: ReturnType<Database["prepare"]>, id: number): number | null | undefined {
  try {
    const r = next.get(id);
    return r === undefined ? null : Number(r.id);
  } catch (e) {
    if (!unreadable(e)) throw e;
    return undefined;
  }
}

/**
 * The smallest id past `stuck` from which a seek succeeds again: doubling
 * steps find a readable point, then bisection brings it back toward the
 * damage, so few readable rows past it are skipped. Undefined when no seek
 * past `stuck` succeeds.
 */
function nextReadable(next: ReturnType<Database["prepare"]>, stuck: number): number | undefined {
  let bad = stuck;
  let good: number | undefined;
  for (let step = 1; bad + step < HIGHEST; step *= 2) {
    if (seekable(next, bad + step)) {
      good = bad + step;
      break;
    }
  }
  if (good === undefined) return undefined;
  while (good - bad > 1) {
    const mid = Math.floor(bad / 2 + good / 2);
    if (seekable(next, mid)) good = mid;
    else bad = mid;
  }
  return good;
}
