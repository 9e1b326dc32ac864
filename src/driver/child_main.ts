/**
 * The entry of a worker process started by the programmatic {@link Driver}
 * (from `mod.ts`) when gearbox runs from its sources: the same as the
 * binary's hidden `gearbox __worker`, without the command line around it.
 *
 * @module
 */
import { runChild } from "./child.ts";

const spec = process.env.GEARBOX_WORKER_SPEC;
if (!spec) {
  process.stderr.write("child_main.ts: run by gearbox's Driver only\n");
  process.exit(64);
}
let status = 1;
try {
  status = await runChild(spec);
} catch (e) {
  process.stderr.write(`worker process failed: ${(e as Error).message}\n`);
}
// A module may leave handles open; the worker is done.
process.exit(status);
