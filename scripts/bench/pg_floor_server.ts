/**
 * The bare-runtime floor for durable submit on PostgreSQL (`npm run bench -- --store postgres`):
 * a minimal Gearman server on `Bun.listen` that takes SUBMIT_JOB_BG, writes each job as a row of
 * gearbox's own table by binary COPY through the same driver (postgres.js), and answers
 * JOB_CREATED only after the COPY's commit, as gearbox does. Nothing else: no queue in memory,
 * no coalescing, no checksums (the columns are sent as zeros), no retries, no node bookkeeping,
 * no metrics; one reusable input buffer per connection and one output buffer per connection per
 * commit. What it reaches is what Bun, the driver and PostgreSQL allow this protocol here, so
 * gearbox's durable-submit numbers can be read against it.
 *
 * Independent of gearbox's code on purpose (packet codes and column order copied from
 * src/protocol/commands.ts and src/store/postgres_uniques.ts; the table must exist, made by
 * opening a gearbox store on the database: pg_floor.ts `createGearboxTables`).
 *
 * Gathering is gearbox's: the jobs read in one loop turn start a COPY at once (PostgreSQL works
 * on them while more arrive), later turns add theirs, and the COPY ends once a turn brings no
 * more (at most 4 turns); one commit is in flight at a time.
 *
 *   bun scripts/bench/pg_floor_server.ts --port P --store postgres://... [--host 127.0.0.1]
 */
import postgres from "postgres";
import type { Writable } from "node:stream";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { port: { type: "string" }, host: { type: "string", default: "127.0.0.1" }, store: { type: "string" } },
});
if (!values.port || !values.store) {
  console.error("usage: bun scripts/bench/pg_floor_server.ts --port P --store postgres://...");
  process.exit(64);
}

const SUBMIT_JOB_BG = 18, JOB_CREATED = 8;
const RES_MAGIC = new Uint8Array([0, 0x52, 0x45, 0x53]); // "\0RES"
const PREFIX = new TextEncoder().encode("H:floor:");
/** Rows name their node, handle prefix and function by number (gearbox's migration 5); the floor is node 1, prefix 1. */
const NODE_NUMBER = 1, PREFIX_NUMBER = 1;
const COPY_SQL = "COPY gearbox_job (node, id, prefix, function, uniq, data, reducer, priority, run_after, created_at, " +
  "meta_crc, data_crc, retries, failures, outcome, exit_status, ended_at, delete_after) FROM STDIN (FORMAT binary)";
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
const GATHER_TURNS = 4;

const sql = postgres(values.store, { max: 2, onnotice: () => {} });

interface Conn {
  sock: { write(b: Uint8Array): number; end(): void };
  pending: Uint8Array;
  pendLen: number;
  /** Job ids of this connection waiting for the commit in flight (`acking`) and for the next one (`waiting`). */
  waiting: number[];
  acking: number[];
  /** Output the socket did not take yet, written on drain. */
  unsent: Uint8Array[];
  dead: boolean;
}

let nextId = 1;
/** The next commit's rows (binary COPY fields), its connections, its job count. */
let rows = new Uint8Array(1 << 20);
/** A view of `rows`, made again only when it grows. */
let dv = new DataView(rows.buffer);
let rowsLen = 0;
let jobs = 0;
let conns = new Set<Conn>();
/** The COPY of the next commit, opened at the first turn that had jobs. */
interface Copy {
  ready: Promise<Writable>;
  stream: Writable | undefined;
}
let copy: Copy | undefined;
let inFlight = false;
let armed = false;
let turns = 0;
let seen = 0;

function room(n: number): void {
  if (rowsLen + n <= rows.length) return;
  const bigger = new Uint8Array(Math.max(rows.length * 2, rowsLen + n));
  bigger.set(rows.subarray(0, rowsLen));
  rows = bigger;
  dv = new DataView(rows.buffer);
}

function putInt(size: 2 | 4 | 8, v: number): void {
  dv.setInt32(rowsLen, size);
  if (size === 2) dv.setInt16(rowsLen + 4, v);
  else if (size === 4) dv.setInt32(rowsLen + 4, v);
  else {
    const high = Math.floor(v / 0x100000000);
    dv.setInt32(rowsLen + 4, high);
    dv.setUint32(rowsLen + 8, v - high * 0x100000000);
  }
  rowsLen += 4 + size;
}
function putBytes(b: Uint8Array, a = 0, z = b.length): void {
  dv.setInt32(rowsLen, z - a);
  rows.set(b.subarray(a, z), rowsLen + 4);
  rowsLen += 4 + z - a;
}
function putNull(): void {
  dv.setInt32(rowsLen, -1);
  rowsLen += 4;
}
/**
 * The function's number, as gearbox's name cache gives it: the last one
 * compared byte for byte, else a map; a new name is numbered here and its
 * row written beside (no commit waits for it: the floor's rows are never read).
 */
const fnNumbers = new Map<string, number>();
let lastFn = new Uint8Array(0);
let lastFnNumber = 0;
function functionNumber(b: Uint8Array, a: number, z: number): number {
  if (z - a === lastFn.length) {
    let same = true;
    for (let i = 0; i < lastFn.length && same; i++) same = b[a + i] === lastFn[i];
    if (same) return lastFnNumber;
  }
  const name = new TextDecoder().decode(b.subarray(a, z));
  let n = fnNumbers.get(name);
  if (n === undefined) {
    fnNumbers.set(name, n = fnNumbers.size + 2); // 1 is the prefix
    void sql.unsafe("INSERT INTO gearbox_name (number, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", [n, name]);
  }
  lastFn = b.slice(a, z);
  return lastFnNumber = n;
}

/** One SUBMIT_JOB_BG (fn \0 unique \0 data in b[a, z)): its row goes into the next commit. */
function submit(c: Conn, b: Uint8Array, a: number, z: number): void {
  const f = b.indexOf(0, a);
  const u = b.indexOf(0, f + 1);
  if (f < 0 || u < 0 || u >= z) return;
  const id = nextId++;
  room(2 + 18 * 4 + 64 + (z - a) + 32);
  dv.setInt16(rowsLen, 18);
  rowsLen += 2;
  putInt(4, NODE_NUMBER);
  putInt(8, id);
  putInt(4, PREFIX_NUMBER);
  putInt(4, functionNumber(b, a, f));
  putBytes(b, f + 1, u);
  putBytes(b, u + 1, z);
  putBytes(new Uint8Array(0));
  putInt(2, 1);
  putInt(8, 0);
  putInt(8, Date.now());
  putInt(8, 0);
  putInt(8, 0);
  putInt(4, 0);
  for (let i = 0; i < 5; i++) putNull();
  jobs++;
  c.waiting.push(id);
  conns.add(c);
}

function data(c: Conn, chunk: Uint8Array): void {
  let b = chunk;
  let end = chunk.length;
  if (c.pendLen > 0) {
    if (c.pendLen + chunk.length > c.pending.length) {
      const bigger = new Uint8Array(Math.max(c.pending.length * 2, c.pendLen + chunk.length));
      bigger.set(c.pending.subarray(0, c.pendLen));
      c.pending = bigger;
    }
    c.pending.set(chunk, c.pendLen);
    b = c.pending;
    end = c.pendLen + chunk.length;
  }
  let at = 0;
  while (end - at >= 12) {
    const type = (b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!;
    const size = ((b[at + 8]! << 24) | (b[at + 9]! << 16) | (b[at + 10]! << 8) | b[at + 11]!) >>> 0;
    if (end - at < 12 + size) break;
    if (type === SUBMIT_JOB_BG) submit(c, b, at + 12, at + 12 + size);
    at += 12 + size;
  }
  const left = end - at;
  if (b === c.pending) c.pending.copyWithin(0, at, end);
  else {
    if (left > c.pending.length) c.pending = new Uint8Array(left * 2);
    c.pending.set(b.subarray(at, end));
  }
  c.pendLen = left;
  if (!armed && jobs > 0 && !inFlight) {
    armed = true;
    turns = 0;
    seen = 0;
    setImmediate(gather);
  }
}

/** Sends what this turn added to the open COPY (opening it first); ends it once a turn added nothing. */
function gather(): void {
  if (jobs !== seen && turns < GATHER_TURNS) {
    turns++;
    seen = jobs;
    stage();
    setImmediate(gather);
    return;
  }
  armed = false;
  void commit();
}

let sent = 0; // bytes of `rows` already written to the COPY
function stage(): void {
  const added = rows.subarray(sent, rowsLen);
  sent = rowsLen;
  // An idle stream hands the part to the driver, which copies it before returning; a busy or
  // unopened one keeps it, and `rows` is reused: then it gets a copy.
  if (copy?.stream) return void copy.stream.write(copy.stream.writableLength === 0 ? added : added.slice());
  const part = added.slice();
  if (!copy) {
    const c: Copy = {
      ready: sql.unsafe(COPY_SQL).writable().then((s) => {
        s.write(new Uint8Array(SIGNATURE));
        return (c.stream = s);
      }),
      stream: undefined,
    };
    copy = c;
  }
  void copy.ready.then((s) => s.write(part));
}

async function commit(): Promise<void> {
  inFlight = true;
  stage();
  const ready = copy!.ready;
  const acking = conns;
  for (const c of acking) (c.acking = c.waiting), (c.waiting = []);
  conns = new Set();
  rowsLen = 0;
  sent = 0;
  jobs = 0;
  copy = undefined;
  try {
    const stream = await ready;
    const done = new Promise<void>((resolve, reject) => (stream.once("finish", resolve), stream.once("error", reject)));
    stream.end(new Uint8Array([0xff, 0xff]));
    await done;
  } catch (e) {
    console.error(`pg floor: COPY failed: ${String(e)}`);
    process.exit(1);
  }
  for (const c of acking) ack(c);
  inFlight = false;
  if (jobs > 0 && !armed) {
    armed = true;
    turns = 0;
    seen = 0;
    setImmediate(gather);
  }
}

/** Every JOB_CREATED of the commit for this connection, in one write. */
function ack(c: Conn): void {
  if (c.dead) return;
  let size = 0;
  for (const id of c.acking) size += 12 + PREFIX.length + String(id).length;
  const out = new Uint8Array(size);
  const outView = new DataView(out.buffer);
  let at = 0;
  for (const id of c.acking) {
    const digits = String(id);
    out.set(RES_MAGIC, at);
    outView.setUint32(at + 4, JOB_CREATED);
    outView.setUint32(at + 8, PREFIX.length + digits.length);
    out.set(PREFIX, at + 12);
    for (let i = 0; i < digits.length; i++) out[at + 12 + PREFIX.length + i] = digits.charCodeAt(i);
    at += 12 + PREFIX.length + digits.length;
  }
  c.acking = [];
  send(c, out);
}

function send(c: Conn, out: Uint8Array): void {
  if (c.unsent.length > 0) return void c.unsent.push(out);
  const n = c.sock.write(out);
  if (n < out.length) c.unsent.push(out.subarray(Math.max(n, 0)));
}

function drain(c: Conn): void {
  while (c.unsent.length > 0) {
    const out = c.unsent[0]!;
    const n = c.sock.write(out);
    if (n < out.length) return void (c.unsent[0] = out.subarray(Math.max(n, 0)));
    c.unsent.shift();
  }
}

Bun.listen<Conn>({
  hostname: values.host!,
  port: Number(values.port),
  socket: {
    open(sock) {
      sock.setNoDelay(true);
      sock.data = { sock, pending: new Uint8Array(64 * 1024), pendLen: 0, waiting: [], acking: [], unsent: [], dead: false };
    },
    data(sock, chunk) {
      data(sock.data, chunk);
    },
    drain(sock) {
      drain(sock.data);
    },
    close(sock) {
      sock.data.dead = true;
    },
  },
});
console.error(`pg floor listening on ${values.host}:${values.port}`);
