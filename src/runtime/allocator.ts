/**
 * The memory allocator's settings, which Bun's allocator (mimalloc) reads
 * from the environment once, when the process starts: so `serve` starts
 * itself again, in place (`execve`, same pid, same arguments), with them set.
 *
 * Two settings:
 * - how long freed memory stays mapped before it is given back to the system
 *   (`MIMALLOC_PURGE_DELAY`, 10 ms by default). A server taking bursts frees
 *   and reuses buffers all the time; given back after 10 ms, the same memory
 *   is faulted in again a moment later: on 2 cores that cost gearbox 1 to 4
 *   µs of CPU a job and 5 to 15% of its durable submit rate on PostgreSQL
 *   (docs/runtime.md §10). After {@link PURGE_DELAY_MS}, memory a burst left
 *   behind still goes back to the system;
 * - whether the free parts of pages still in use are given back every 100 ms
 *   (`MIMALLOC_PURGE_HOLES`, on by default): the same faults again, about a
 *   third of gearbox's CPU per durable submit on PostgreSQL, for about a fifth
 *   more resident memory with 320,000 jobs queued (docs/runtime.md §10).
 *
 * A value set in the environment is kept (`MIMALLOC_PURGE_DELAY=10` and
 * `MIMALLOC_PURGE_HOLES=1` are mimalloc's own defaults). Deno, whose
 * allocator is another, is left alone.
 *
 * @module
 */
import { selfCommand } from "./load.ts";

/** How long freed memory stays mapped, in ms (`MIMALLOC_PURGE_DELAY`), unless the environment says. */
export const PURGE_DELAY_MS = 10_000;

/** The allocator's settings `serve` runs with, each unless the environment sets it. */
export const ALLOCATOR_SETTINGS: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_DELAY: String(PURGE_DELAY_MS),
  MIMALLOC_PURGE_HOLES: "0",
};

/**
 * Starts this process again with the allocator's settings when they are not
 * set yet; returns only when they are (or cannot be: not Bun, no execve).
 */
export function tuneAllocator(): void {
  const bun = (globalThis as { Bun?: unknown }).Bun !== undefined;
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string>) => never }).execve;
  const missing = Object.entries(ALLOCATOR_SETTINGS).filter(([name]) => process.env[name] === undefined);
  if (!bun || typeof execve !== "function" || missing.length === 0) return;
  const [file, ...rest] = selfCommand();
  const env = { ...process.env, ...Object.fromEntries(missing) } as Record<string, string>;
  try {
    execve.call(process, file!, [file!, ...rest, ...process.argv.slice(2)], env);
  } catch {
    // Not fatal: the server runs with the allocator's defaults.
  }
}
