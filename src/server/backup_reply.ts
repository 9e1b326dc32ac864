/**
 * The `backup` admin command at the edge: copies the running store into the
 * backup directory while the server keeps serving, logs the outcome, and
 * gives the admin reply (`OK jobs damaged`, or `ERR code text`).
 *
 * @module
 */
import { join } from "node:path";
import type { Logger } from "../log/logger.ts";
import { errLine } from "../protocol/admin_text.ts";
import { now as clock } from "../runtime/host_and_process.ts";
import { type JobStore, StoreError } from "../store/job_store.ts";

/** The admin reply to `backup NAME`, once the copy is written or refused; `dir` "" means backups are off. */
export async function backupReply(store: JobStore, dir: string, name: string, logger: Logger): Promise<string> {
  if (store.backupAdvice) return errLine("BACKUP_UNSUPPORTED", store.backupAdvice);
  if (dir === "") return errLine("BACKUP_DISABLED", "backups are off: set backup_dir (--backup-dir)");
  if (!store.backup) return errLine("BACKUP_UNSUPPORTED", `the ${store.url} store has nothing on disk to back up`);
  const path = join(dir, name);
  const t0 = clock();
  logger.info("store backup started", { path });
  try {
    const r = await store.backup(path);
    const fields = { path, jobs: r.jobs, damaged_rows_left_out: r.damaged, seconds: ((clock() - t0) / 1000).toFixed(2) };
    if (r.damaged > 0) logger.error("store backup written without damaged rows", fields);
    else logger.info("store backup written", fields);
    return `OK ${r.jobs} ${r.damaged}\n`;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const code = e instanceof StoreError && (e.code === "BACKUP_BUSY" || e.code === "BACKUP_EXISTS") ? e.code : "BACKUP_FAILED";
    logger.log(code === "BACKUP_FAILED" ? "error" : "warn", "store backup refused or failed", { path, code, error: message });
    return errLine(code, message);
  }
}
