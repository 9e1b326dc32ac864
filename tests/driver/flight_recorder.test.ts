/**
 * The flight recorder's bounds, without processes: runs kept per job, output
 * bytes per run, lines on disk in runs_dir, and what a new recorder reads
 * back. (Pids here are not live: no memory is known, so peak_rss is null.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FlightRecorder } from "../../src/driver/flight_recorder.ts";
import { Logger } from "../../src/log/logger.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();
const lines: string[] = [];
const log = new Logger({ level: "info", format: "text", write: (l) => lines.push(l) });
const NO_PID = 2 ** 22 + 12345;

function runJobs(rec: FlightRecorder, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) {
    rec.begin("j", NO_PID, `H:t:${i}`, "f", 1000 * i);
    rec.output(NO_PID, "stdout", `line ${i}`);
    rec.end(NO_PID, { outcome: i % 2 === 0 ? "complete" : "fail", exit_status: i % 2 === 0 ? null : 3 }, 1000 * i + 10);
  }
}

test("the recorder keeps runs_kept runs per job, newest first, and finds a run by handle", () => {
  const rec = new FlightRecorder({ runsKept: 3, outputBytes: 100, runsDir: "", log });
  runJobs(rec, 5);
  rec.flush();
  assert.deepEqual(rec.runs("j").map((r) => r.handle), ["H:t:4", "H:t:3", "H:t:2"]);
  assert.deepEqual(rec.runs("j", 1).map((r) => r.handle), ["H:t:4"]);
  assert.equal(rec.run("H:t:3")?.exit_status, 3);
  assert.equal(rec.run("H:t:3")?.outcome, "fail");
  assert.equal(rec.run("H:t:3")?.peak_rss_bytes, null);
  assert.equal(rec.run("H:t:0"), undefined, "dropped from the ring");
  assert.deepEqual(rec.runs("other"), []);
});

test("a run keeps only its last run_output_bytes of output, whole lines", () => {
  const rec = new FlightRecorder({ runsKept: 3, outputBytes: 20, runsDir: "", log });
  rec.begin("j", NO_PID, "H:t:1", "f", 0);
  for (let i = 0; i < 10; i++) assert.equal(rec.output(NO_PID, "stderr", `line ${i}`), "H:t:1");
  rec.end(NO_PID, { outcome: "complete" }, 5);
  assert.deepEqual(rec.run("H:t:1")!.output.map((o) => o.line), ["line 8", "line 9"], "6 bytes and a newline each: 21 would be over 20");
  // A line just after the end (pipes and reports are not ordered) still belongs to the run.
  assert.equal(rec.output(NO_PID, "stdout", "late"), "H:t:1");
  rec.flush();
  assert.equal(rec.output(NO_PID, "stdout", "later"), undefined);
});

test("runs_dir holds at most twice runs_kept lines per job, and a new recorder reads the last runs_kept back", () => {
  const dir = join(tempDir("gearbox-runs-"), "runs");
  const rec = new FlightRecorder({ runsKept: 3, outputBytes: 100, runsDir: dir, log });
  runJobs(rec, 13);
  rec.flush();
  const onDisk = readFileSync(join(dir, "j.runs.jsonl"), "utf8").trim().split("\n");
  assert.ok(onDisk.length <= 6, `${onDisk.length} lines on disk`);
  assert.equal(JSON.parse(onDisk.at(-1)!).handle, "H:t:12");
  const again = new FlightRecorder({ runsKept: 3, outputBytes: 100, runsDir: dir, log });
  assert.deepEqual(again.runs("j").map((r) => r.handle), ["H:t:12", "H:t:11", "H:t:10"]);
  assert.deepEqual(again.run("H:t:11")!.output, [{ stream: "stdout", line: "line 11" }]);
});

test("a runs_dir that is a file stops the recorder with an error naming runs_dir", () => {
  const file = join(tempDir("gearbox-runs-"), "not-a-dir");
  writeFileSync(file, "x");
  assert.throws(
    () => new FlightRecorder({ runsKept: 3, outputBytes: 100, runsDir: file, log }),
    /^Error: runs_dir .*not-a-dir: cannot read it/,
  );
});

test("a command job's run takes the program's pid and the peak memory the worker process reported, with the worker's pid as worker_pid", () => {
  const rec = new FlightRecorder({ runsKept: 5, outputBytes: 100, runsDir: "", log });
  const program = NO_PID + 1;
  rec.begin("c", NO_PID, "H:c:1", "c", 1000);
  rec.command(NO_PID, program);
  assert.equal(rec.handleOf(NO_PID), "H:c:1", "the run is still found by the worker process's pid");
  rec.output(NO_PID, "stderr", "working");
  rec.commandEnded(NO_PID, 80 * 1024 * 1024);
  rec.end(NO_PID, { outcome: "fail", exit_status: 3, message: "working (exit status 3)" }, 1500);
  // The worker process died during the next program, before it could tell its peak.
  rec.begin("c", NO_PID, "H:c:2", "c", 2000);
  rec.command(NO_PID, program + 1);
  rec.end(NO_PID, { outcome: "killed", signal: "SIGKILL" }, 2500);
  rec.flush();
  const [second, first] = rec.runs("c");
  assert.deepEqual(
    { pid: first!.pid, worker_pid: first!.worker_pid, peak: first!.peak_rss_bytes, output: first!.output.length },
    { pid: program, worker_pid: NO_PID, peak: 80 * 1024 * 1024, output: 1 },
  );
  assert.deepEqual({ pid: second!.pid, worker_pid: second!.worker_pid, peak: second!.peak_rss_bytes }, {
    pid: program + 1,
    worker_pid: NO_PID,
    peak: null,
  });
});
