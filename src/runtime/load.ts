/**
 * Loads worker modules from disk at run time. Bun (also in a compiled
 * binary) and Deno import `.ts` files directly.
 *
 * @module
 */
import { pathToFileURL } from "node:url";

/** Imports a module by file path. */
export async function importFile(path: string): Promise<Record<string, unknown>> {
  return await import(pathToFileURL(path).href) as Record<string, unknown>;
}

/**
 * The command that runs this program again (a supervisor re-executes itself
 * with a hidden subcommand): the compiled binary alone, or the runtime plus
 * the entry script when running from sources.
 */
export function selfCommand(): string[] {
  const deno = (globalThis as { Deno?: { execPath(): string; mainModule: string } }).Deno;
  if (deno) return [deno.execPath(), "run", "-A", new URL(deno.mainModule).pathname];
  const script = process.argv[1];
  if (script && /\.(ts|tsx|js|mjs)$/.test(script) && !script.startsWith("/$bunfs/")) return [process.execPath, script];
  return [process.execPath];
}

/** The command that runs a script file with this runtime (`deno run -A`, or Bun/Node with the file). */
export function scriptCommand(path: string): string[] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  return deno ? [deno.execPath(), "run", "-A", path] : [process.execPath, path];
}
