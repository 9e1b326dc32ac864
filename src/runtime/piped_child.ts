/**
 * A child process whose stdin and stdout are one connected socket to its
 * parent, the way Gearman::Server's `start_worker` hands a worker its
 * connection (Perl's Gearman::Worker reads and writes its fd 0, so two pipes
 * would not do). The socket is a Unix-domain pair made through a listener in
 * a private temporary directory that is removed before the child runs.
 * `node:child_process` and `node:net` do this alike on Bun, Deno and Node.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running child spoken to through its stdin/stdout socket. */
export interface PipedChild {
  readonly pid: number;
  /** Resolves with the exit code, or null when a signal ended it. */
  readonly exited: Promise<number | null>;
  write(bytes: Uint8Array): void;
  onStdout(cb: (chunk: Uint8Array) => void): void;
  /** Shuts our side of the socket: the child reads end of file. */
  endInput(): void;
  kill(signal: "SIGTERM" | "SIGKILL"): void;
}

/** Starts `argv` with a socket as stdin and stdout (stderr is ours); rejects when it cannot be started. */
export async function spawnOnSocket(argv: readonly string[], env: Record<string, string> = {}): Promise<PipedChild> {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-worker-"));
  let ours: Socket;
  let theirs: Socket;
  try {
    [ours, theirs] = await socketPairVia(join(dir, "s"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const fd = (theirs as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) {
    ours.destroy();
    theirs.destroy();
    throw new Error("this runtime does not expose a socket's descriptor; cannot hand it to a child");
  }
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: [fd, fd, 2] });
  theirs.destroy(); // the child has its own copy
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  if (child.pid === undefined) {
    ours.destroy();
    throw new Error(`cannot run ${argv[0]}`);
  }
  ours.on("error", () => {}); // the child went away: its exit says so
  void exited.then(() => ours.destroy());
  return {
    pid: child.pid,
    exited,
    write: (bytes) => void ours.write(bytes),
    onStdout: (cb) => void ours.on("data", (d: Uint8Array) => cb(d)),
    endInput: () => void ours.end(),
    kill: (signal) => void child.kill(signal),
  };
}

/** Two connected Unix-domain sockets, through a listener at `path` that is closed at once. */
function socketPairVia(path: string): Promise<[Socket, Socket]> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.once("connection", (accepted) => {
      server.close();
      client.pause();
      resolve([accepted, client]);
    });
    let client: Socket;
    server.listen(path, () => {
      client = connect(path);
      client.once("error", reject);
    });
  });
}
