/**
 * gearbox over TLS against gearbox in plaintext, in the same run: two
 * `gearbox serve` processes (memory store), one with tls_cert/tls_key/tls_ca,
 * driven by the same raw Gearman peers (mutual TLS, certificates made with
 * openssl in a temp dir). `--peers bun` (the default on Bun) connects them
 * with `Bun.connect` (with `tls` for the TLS server), `--peers node` with
 * node:net / node:tls: the same kind of socket for both servers, so the
 * comparison is fair. Rounds
 * alternate which server goes first; the best round of each is reported,
 * with the server's CPU (from /proc) per job.
 *
 *   bun scripts/bench/tls.ts [--seconds 3] [--rounds 3] [--clients 16] [--workers 4] [--peers node|bun]
 *
 * Phases: foreground round trips (C client connections, one SUBMIT_JOB in
 * flight each, W workers on GRAB_JOB/PRE_SLEEP) and pipelined background
 * submits (batches of 1000 SUBMIT_JOB_BG on one connection).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as tcp, type Socket } from "node:net";
import { connect as tls } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Buffer } from "node:buffer";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet } from "../../tests/helpers/raw_conn.ts";
import { makeCerts } from "../../tests/helpers/certs.ts";
import { type RunningServer, startGearbox } from "../../tests/helpers/servers.ts";
import { cpuSeconds } from "./proc_cpu.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    clients: { type: "string", default: "16" },
    workers: { type: "string", default: "4" },
    peers: { type: "string", default: process.versions.bun ? "bun" : "node" },
  },
});
const seconds = Number(values.seconds);
if (values.peers !== "node" && values.peers !== "bun") throw new Error(`--peers must be node or bun, not ${values.peers}`);
const dir = mkdtempSync(join(tmpdir(), "gearbox-bench-tls-"));
const certs = makeCerts(dir);
const clientTls = {
  ca: readFileSync(certs.ca),
  cert: readFileSync(certs.clientCert),
  key: readFileSync(certs.clientKey),
  servername: "localhost",
};

/** What a peer needs from its socket, whichever API opened it. */
interface PeerSocket {
  write(bytes: Uint8Array): void;
  destroy(): void;
}

/** A Gearman connection that hands each response packet (code, args) to `onPacket`. */
class Peer {
  sock!: PeerSocket;
  #buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  readonly #onPacket: (code: number, args: string[]) => void;
  constructor(onPacket: (code: number, args: string[]) => void) {
    this.#onPacket = onPacket;
  }
  received(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    while (this.#buf.length >= 12) {
      const size = this.#buf.readUInt32BE(8);
      if (this.#buf.length < 12 + size) break;
      const code = this.#buf.readUInt32BE(4);
      this.#onPacket(code, this.#buf.subarray(12, 12 + size).toString("latin1").split("\0"));
      this.#buf = this.#buf.subarray(12 + size);
    }
  }
  static open(port: number, secure: boolean, onPacket: (code: number, args: string[]) => void): Promise<Peer> {
    const peer = new Peer(onPacket);
    return values.peers === "bun" ? openBun(peer, port, secure) : openNode(peer, port, secure);
  }
}

function openNode(peer: Peer, port: number, secure: boolean): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const s: Socket = secure ? tls({ port, host: "127.0.0.1", ...clientTls }) : tcp({ port, host: "127.0.0.1" });
    s.once(secure ? "secureConnect" : "connect", () => {
      s.setNoDelay(true);
      s.on("error", () => {});
      s.on("data", (d: Buffer) => peer.received(d));
      peer.sock = s;
      resolve(peer);
    });
    s.once("error", reject);
  });
}

interface BunClientSocket {
  write(b: Uint8Array): number;
  terminate(): void;
  setNoDelay(v: boolean): void;
}
const bunConnect = (globalThis as unknown as { Bun?: { connect(o: unknown): Promise<BunClientSocket> } }).Bun?.connect;

/** Bun.connect with a write queue (Bun's write may take part of a buffer). */
function openBun(peer: Peer, port: number, secure: boolean): Promise<Peer> {
  if (!bunConnect) throw new Error("--peers bun needs bun");
  const queue: Uint8Array[] = [];
  let raw: BunClientSocket | undefined;
  const flush = () => {
    while (raw && queue.length > 0) {
      const n = raw.write(queue[0]!);
      if (n < queue[0]!.length) {
        queue[0] = queue[0]!.subarray(Math.max(n, 0));
        return;
      }
      queue.shift();
    }
  };
  peer.sock = {
    write: (b) => {
      queue.push(b);
      if (queue.length === 1) flush();
    },
    destroy: () => raw?.terminate(),
  };
  return new Promise((resolve, reject) => {
    const tlsOptions = secure ? { tls: { ...clientTls, serverName: "localhost" } } : {};
    bunConnect({
      hostname: "127.0.0.1",
      port,
      ...tlsOptions,
      socket: {
        binaryType: "buffer",
        open(s: BunClientSocket) {
          s.setNoDelay(true);
          raw = s;
          if (!secure) resolve(peer);
        },
        handshake(_s: BunClientSocket, ok: boolean) {
          if (ok) resolve(peer);
          else reject(new Error("TLS handshake failed"));
        },
        data: (_s: BunClientSocket, d: Buffer) => peer.received(d),
        drain: flush,
        error: () => {},
      },
    }).catch(reject);
  });
}

const PAYLOAD = "x".repeat(100);

async function foreground(port: number, secure: boolean, fn: string): Promise<number> {
  const workers = await Promise.all(Array.from({ length: Number(values.workers) }, async () => {
    const w: Peer = await Peer.open(port, secure, (code, args) => {
      if (code === Cmd.JOB_ASSIGN) w.sock.write(Buffer.concat([packet(Cmd.WORK_COMPLETE, args[0]!, args[2]!), packet(Cmd.GRAB_JOB)]));
      else if (code === Cmd.NO_JOB) w.sock.write(packet(Cmd.PRE_SLEEP));
      else if (code === Cmd.NOOP) w.sock.write(packet(Cmd.GRAB_JOB));
    });
    w.sock.write(Buffer.concat([packet(Cmd.CAN_DO, fn), packet(Cmd.GRAB_JOB)]));
    return w;
  }));
  let done = 0;
  let running = true;
  const submit = packet(Cmd.SUBMIT_JOB, fn, "", PAYLOAD);
  const clients = await Promise.all(Array.from({ length: Number(values.clients) }, async () => {
    const c: Peer = await Peer.open(port, secure, (code) => {
      if (code !== Cmd.WORK_COMPLETE) return;
      done++;
      if (running) c.sock.write(submit);
    });
    return c;
  }));
  for (const c of clients) c.sock.write(submit);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const rate = done / seconds;
  for (const p of [...clients, ...workers]) p.sock.destroy();
  return rate;
}

async function background(port: number, secure: boolean, fn: string): Promise<number> {
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => packet(Cmd.SUBMIT_JOB_BG, fn, "", PAYLOAD)));
  let created = 0;
  let wake = () => {};
  const c = await Peer.open(port, secure, (code) => {
    if (code === Cmd.JOB_CREATED && ++created % 1000 === 0) wake();
  });
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const acked = new Promise<void>((r) => (wake = r));
    c.sock.write(batch);
    await acked;
  }
  c.sock.destroy();
  return created / seconds;
}

interface Result {
  rate: number;
  cpuUsPerJob: number;
  /** This process (every client and worker): where the rest of the cost is. */
  peersUsPerJob: number;
}

async function measure(server: RunningServer, secure: boolean, phase: typeof foreground, fn: string): Promise<Result> {
  const cpu0 = cpuSeconds([server.pid]);
  const own0 = process.cpuUsage();
  const rate = await phase(server.port, secure, fn);
  const cpu = cpuSeconds([server.pid]) - cpu0;
  const own = process.cpuUsage(own0);
  const jobs = rate * seconds;
  return { rate, cpuUsPerJob: (cpu * 1e6) / jobs, peersUsPerJob: (own.user + own.system) / jobs };
}

const plain = await startGearbox();
const secure = await startGearbox({ extra: ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.ca] });
const best: Record<string, Result> = {};
const keep = (key: string, r: Result) => {
  if (!best[key] || r.rate > best[key]!.rate) best[key] = r;
};
for (let round = 0; round < Number(values.rounds); round++) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  for (const useTls of order) {
    const server = useTls ? secure : plain;
    const label = useTls ? "TLS" : "plaintext";
    keep(`fg ${label}`, await measure(server, useTls, foreground, `fg${round}`));
    keep(`bg ${label}`, await measure(server, useTls, background, `bg${round}`));
    console.error(`round ${round + 1} ${label} done`);
  }
}
await plain.stop();
await secure.stop();
rmSync(dir, { recursive: true, force: true });

const fmt = (n: number) => Math.round(n).toLocaleString("en");
console.log(
  `gearbox serve over mutual TLS vs plaintext (${process.versions.bun ? "bun " + process.versions.bun : "node"}; peers on ${
    values.peers === "bun" ? "Bun.connect" : "node:net / node:tls"
  }), best of ${values.rounds} alternating rounds, ${seconds} s each, 100 B payloads`,
);
console.log(
  "| phase | plaintext jobs/s | TLS jobs/s | TLS/plaintext | server CPU µs/job plaintext / TLS | peers' CPU µs/job plaintext / TLS |\n|---|---:|---:|---:|---:|---:|",
);
for (
  const [phase, name] of [["fg", `foreground, ${values.clients} clients / ${values.workers} workers`], [
    "bg",
    "background submit, pipelined 1000",
  ]]
) {
  const p = best[`${phase} plaintext`]!;
  const t = best[`${phase} TLS`]!;
  console.log(
    `| ${name} | ${fmt(p.rate)} | ${fmt(t.rate)} | ${((t.rate / p.rate) * 100).toFixed(0)}% | ${p.cpuUsPerJob.toFixed(1)} / ${
      t.cpuUsPerJob.toFixed(1)
    } | ${p.peersUsPerJob.toFixed(1)} / ${t.peersUsPerJob.toFixed(1)} |`,
  );
}
