/**
 * `gearbox top`'s entry, imported lazily by src/cli/top.ts so Ink and React
 * load only for this subcommand.
 *
 * @module
 */
import { render } from "ink";
import { App } from "./components/app.tsx";
import { Sources } from "./data/sources.ts";
import type { TlsOptions } from "../src/client/tls_options.ts";

export interface TopOptions {
  servers: string[];
  consoles: string[];
  token?: string;
  intervalMs: number;
  readOnly: boolean;
  /** TLS for every server, and for consoles given as tls://host:port. */
  tls?: TlsOptions;
}

/** Runs the UI until the person quits; resolves then. */
export async function runTop(options: TopOptions): Promise<void> {
  const sources = new Sources(options.servers, options.consoles, options.token, Math.max(options.intervalMs * 2, 2000), options.tls);
  const terminal = process.stdout.isTTY === true;
  const colour = !process.env.NO_COLOR && terminal;
  const app = render(<App sources={sources} intervalMs={options.intervalMs} readOnly={options.readOnly} colour={colour} />, {
    // Ink turns live redrawing off when CI is set; on a terminal top must stay live wherever it runs.
    interactive: terminal,
    // Draw on the alternate screen, as top(1) does: on quit the terminal gets back what it showed
    // before, with the cursor, instead of the last frame with the shell prompt glued to its end.
    alternateScreen: terminal,
    exitOnCtrlC: false,
    maxFps: 10,
    incrementalRendering: true,
  });
  await app.waitUntilExit();
  sources.close();
}
