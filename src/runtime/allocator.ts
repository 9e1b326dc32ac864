/**
 * The memory allocator's settings, which Bun's allocator (mimalloc) reads
 * from the environment once, when the process starts: so `serve` starts
 * itself again, in place (`execve`, same pid, same arguments), with them set.
 *
 * The one setting is how long freed memory stays mapped before it is given
 * back to the system (`MIMALLOC_PURGE_DELAY`, 10 ms by default). A server
 * taking bursts frees and reuses buffers all the time; given back after 10
 * ms, the same memory is faulted in again a moment later: on 2 cores that
 * cost gearbox 1 to 4 µs of CPU a job and 5 to 15% of its durable submit
 * rate on PostgreSQL (docs/runtime.md §10). After {@link PURGE_DELAY_MS}, memory a
 * burst left behind still goes back to the system.
 *
 * A value set in the environment is kept (set it to 10 for mimalloc's own
 * default). Deno, whose allocator is another, is left alone.
 *
 * @module
 */
import { selfCommand } from "./load.ts";

/** How long freed memory stays mapped, in ms (`MIMALLOC_PURGE_DELAY`), unless the environment says. */
export const PURGE_DELAY_MS = 10_000;

/**
 * Starts this process again with the allocator's settings when they are not
 * set yet; returns only when they are (or cannot be: not Bun, no execve).
 */
export function tuneAllocator(): void {
  const bun = (globalThis as { Bun?: unknown }).Bun !== undefined;
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string>) => never }).execve;
  if (!bun || typeof execve !== "function" || process.env.MIMALLOC_PURGE_DELAY !== undefined) return;
  const [file, ...rest] = selfCommand();
  const env = { ...process.env, MIMALLOC_PURGE_DELAY: String(PURGE_DELAY_MS) } as Record<string, string>;
  try {
    execve.call(process, file!, [file!, ...rest, ...process.argv.slice(2)], env);
  } catch {
    // Not fatal: the server runs with the allocator's defaults.
  }
}
