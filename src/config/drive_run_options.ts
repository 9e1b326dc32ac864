/**
 * `gearbox drive`'s rows for its flight recorder (src/driver/flight_recorder.ts):
 * how many runs it keeps per job, how much of a run's output, and where it
 * writes them. Part of DRIVE_OPTIONS (drive_options.ts), in its order; the
 * metrics endpoint's rows (`metrics_listen`, `metrics_insecure`) are serve's,
 * shared.
 *
 * @module
 */
import type { Setting } from "./setting.ts";

export const RUN_ROWS = [
  {
    key: "runs_kept",
    type: "int",
    default: 20,
    arg: "<n>",
    min: 0,
    max: 10000,
    help: "job runs the flight recorder keeps per job (console `runs`, `run`, top), in memory and in runs_dir",
  },
  {
    key: "run_output_bytes",
    type: "int",
    default: 4096,
    arg: "<bytes>",
    min: 0,
    max: 1048576,
    help: "bytes of a run's last output lines (stdout and stderr) the flight recorder keeps",
  },
  {
    key: "runs_dir",
    type: "string",
    default: "",
    arg: "<dir>",
    help:
      "if set, the flight recorder also writes each run as a JSON line to DIR/JOB.runs.jsonl (at most twice runs_kept lines; the last runs_kept are read back at start)",
  },
] as const satisfies readonly Setting[];
