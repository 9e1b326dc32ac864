/**
 * `gearbox store backup NAME`: a running server copies its store into NAME
 * in its backup directory. `gearbox store check FILE` and `gearbox store
 * salvage FILE NEW`: what an operator runs on a store file that `gearbox
 * serve` refused as damaged (or on a backup, to trust it). Both read the file
 * read-only and never change it; salvage writes the jobs it can still read
 * into a new store file. Exit status: 0 done and nothing wrong, 1 damage
 * found (check), jobs left behind (salvage) or the server refused (backup),
 * 2 the file or server could not be reached, 64 bad usage.
 *
 * @module
 */
import { EXIT as CLI_EXIT } from "./exit_status.ts";
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { AdminError, AdminSession } from "../client/admin_session.ts";
import { checkStore, healthy, salvageStore, type ScanReport } from "../store/store_salvage.ts";
import { positiveInteger } from "./arguments.ts";
import { print, printable, table, warn } from "./output.ts";
import { addTlsFlags, type TlsFlags, tlsFromFlags } from "./tls_flags.ts";

/** The CLI table (exit_status.ts) in this command's words: damaged is "failed", unreadable is "unreachable". */
const EXIT = { ok: CLI_EXIT.ok, damaged: CLI_EXIT.failed, unreadable: CLI_EXIT.unreachable, usage: CLI_EXIT.usage } as const;

export function addStoreCommand(program: Command): void {
  const store = program
    .command("store")
    .description("back up a running server's store; check a store file for damage, or salvage what it still holds (server stopped)")
    .addHelpText(
      "after",
      "\nExit status: 0 done and nothing wrong, 1 damage found, jobs left behind or the server refused, 2 file or server unreachable, 64 bad usage.",
    );

  addTlsFlags(
    store.command("backup")
      .description("have a running gearbox copy its SQLite store, while it serves, into NAME in its backup_dir")
      .argument("<name>", "the new file's name in the server's backup directory (no directory part)")
      .option("-s, --server <host:port>", "the gearbox server", "127.0.0.1:4730")
      .option("--timeout <ms>", "how long to wait for the copy to finish", positiveInteger, 600_000),
    "the server",
  ).action((name: string, o: BackupFlags) => backup(name, o));

  store.command("check")
    .description("read every job in a store file and report damaged pages, rows and workloads")
    .argument("<file>", "the SQLite store file")
    .option("--json", "the report as JSON")
    .action((file: string, o: { json?: boolean }) => {
      const report = attempt(() => checkStore(file, progress));
      if (!report) return;
      if (o.json) print(JSON.stringify({ healthy: healthy(report), ...report }, null, 2));
      else printReport(file, report, `gearbox store salvage ${file} ${file.replace(/(\.db)?$/, "-salvaged.db")}`);
      process.exitCode = healthy(report) ? EXIT.ok : EXIT.damaged;
    });

  store.command("salvage")
    .description("copy every job a damaged store file still holds intact into a new store file")
    .argument("<file>", "the damaged store file (read, never changed)")
    .argument("<new>", "the store file to create (must not exist)")
    .option("--keep-damaged", "also copy jobs that fail their checksum, as they read")
    .option("--json", "the report as JSON")
    .action((file: string, to: string, o: { keepDamaged?: boolean; json?: boolean }) => salvage(file, to, o));
}

/** `store backup`: the running server copies its store; a ticker says it is still going. */
type BackupFlags = TlsFlags & { server: string; timeout: number };

async function backup(name: string, o: BackupFlags): Promise<void> {
  let tls;
  try {
    tls = tlsFromFlags(o);
  } catch (e) {
    warn("store", (e as Error).message);
    process.exitCode = EXIT.usage;
    return;
  }
  let admin: AdminSession | undefined;
  const t0 = Date.now();
  // A million jobs take several seconds: say it is still going.
  const ticker = setInterval(
    () => process.stderr.write(`gearbox store: backup still running (${Math.round((Date.now() - t0) / 1000)} s)\n`),
    5000,
  );
  try {
    admin = await AdminSession.open(o.server, o.timeout, tls);
    const [, jobs = "0", damaged = "0"] = (await admin.line(`store backup ${name}`)).split(" ");
    print(`backed up ${jobs} job${jobs === "1" ? "" : "s"} into ${name} in the server's backup directory`);
    if (damaged !== "0") {
      warn(
        "store",
        `${damaged} damaged row${
          damaged === "1" ? " was" : "s were"
        } left out: run gearbox store check on the server's file after stopping it`,
      );
      process.exitCode = EXIT.damaged;
    }
  } catch (e) {
    warn("store", e instanceof Error ? e.message : String(e));
    process.exitCode = e instanceof AdminError ? EXIT.damaged : EXIT.unreadable;
  } finally {
    clearInterval(ticker);
    admin?.close();
  }
}

/** `store salvage`: the intact jobs of FILE into the new file TO, and what was left behind. */
async function salvage(file: string, to: string, o: { keepDamaged?: boolean; json?: boolean }): Promise<void> {
  if (existsSync(to)) {
    warn("store", `${to} exists; give a new file name (salvage never writes over a file)`);
    process.exitCode = EXIT.usage;
    return;
  }
  if (!existsSync(file)) {
    warn("store", `${file} does not exist`);
    process.exitCode = EXIT.unreadable;
    return;
  }
  let result;
  try {
    result = await salvageStore(file, to, { keepDamaged: o.keepDamaged }, progress);
  } catch (e) {
    warn("store", e instanceof Error ? e.message : String(e));
    process.exitCode = EXIT.unreadable;
    return;
  }
  const { report, copied } = result;
  const left = o.keepDamaged ? 0 : report.damagedRows.length + report.damagedWorkloads.length;
  if (o.json) print(JSON.stringify({ copied, leftBehind: left, ...report }, null, 2));
  else {
    printReport(file, report, undefined);
    print(
      `copied ${copied} job${copied === 1 ? "" : "s"}${
        report.schedules.length > 0 ? ` and ${report.schedules.length} schedule${report.schedules.length === 1 ? "" : "s"}' progress` : ""
      } into ${to}${left > 0 ? `; ${left} damaged job${left === 1 ? "" : "s"} left behind (listed above)` : ""}`,
    );
    print(`start the server on it with: gearbox serve --store sqlite:${to}`);
  }
  process.exitCode = left > 0 || report.unreadable.length > 0 ? EXIT.damaged : EXIT.ok;
}

/** Runs a check, turning a file that cannot be read at all into exit 2 and one line. */
function attempt(run: () => ScanReport): ScanReport | undefined {
  try {
    return run();
  } catch (e) {
    warn("store", e instanceof Error ? e.message : String(e));
    process.exitCode = EXIT.unreadable;
    return undefined;
  }
}

function progress(rows: number): void {
  if (rows % 100_000 === 0) process.stderr.write(`gearbox store: ${rows} rows read\n`);
}

function printReport(file: string, r: ScanReport, advice: string | undefined): void {
  print(`${file}: ${r.intact} intact job${r.intact === 1 ? "" : "s"}`);
  print(r.pageProblems.length === 0 ? "pages: consistent" : `pages: damaged (${r.pageProblems.join("; ")})`);
  for (const g of r.unreadable) {
    print(
      `unreadable: job ids after ${g.after < 0 ? "the start" : g.after} ${g.before === null ? "to the end" : `and before ${g.before}`}`,
    );
  }
  const damaged = [
    ...r.damagedRows.map((j) => ({ ...j, what: "row" })),
    ...r.damagedWorkloads.map((j) => ({ ...j, what: "workload" })),
  ].sort((a, b) => a.id - b.id);
  if (damaged.length > 0) {
    print(`${damaged.length} job${damaged.length === 1 ? "" : "s"} failing a checksum (what the row says may itself be wrong):`);
    const t = table(["ID", "FAILS", "HANDLE", "FUNCTION", "UNIQUE"]);
    for (const d of damaged) t.push([d.id, d.what, printable(d.handle), printable(d.function), printable(d.unique)]);
    print(t.toString());
  }
  if (!healthy(r) && advice) print(`to copy what is intact into a new file: ${advice}`);
  if (healthy(r)) print("no damage found");
}
