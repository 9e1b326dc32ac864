/**
 * The bare-runtime floor for `npm run bench`: a minimal Gearman job server on `Bun.listen` with
 * no job logic beyond what `loadgen` needs (no persistence, no priorities, no timeouts, no
 * retries, no metrics). It is written tight, without per-packet closures or promises: NOOP and
 * NO_JOB are pre-encoded, each connection has one reusable output buffer flushed once per data
 * event, and job handles stay numbers until they are written out. What it costs per job is
 * about what the runtime itself costs, so each of gearbox's numbers can be read against it.
 *
 * Independent of gearbox's code on purpose (packet codes copied from src/protocol/commands.ts).
 *
 *   bun scripts/bench/floor_server.ts --port P [--host 127.0.0.1]
 *
 * Serves: CAN_DO, CAN_DO_TIMEOUT, CANT_DO, RESET_ABILITIES, PRE_SLEEP, SUBMIT_JOB(_HIGH|_LOW)(_BG),
 * GRAB_JOB(_UNIQ|_ALL), WORK_COMPLETE/FAIL/EXCEPTION/DATA/WARNING/STATUS (forwarded to a
 * foreground job's client while it is connected), ECHO_REQ, OPTION_REQ, SET_CLIENT_ID (ignored)
 * and the admin text line `status`. Every submit goes to one FIFO queue per function; a job whose
 * worker disconnects is lost. Anything else gets ERROR.
 */
import { parseArgs } from "node:util";

const REQ_MAGIC = 0x00524551; // "\0REQ"
const RES = [0, 0x52, 0x45, 0x53]; // "\0RES"
const NOOP = 6, JOB_CREATED = 8, NO_JOB = 10, JOB_ASSIGN = 11, ECHO_RES = 17, ERROR = 19;
const JOB_ASSIGN_UNIQ = 31, JOB_ASSIGN_ALL = 40, OPTION_RES = 27;
const HANDLE_PREFIX = [0x48, 0x3a]; // "H:"

interface Job {
  handle: number;
  fn: Fn;
  unique: Uint8Array;
  data: Uint8Array;
  client: Conn | null; // null for background jobs
}
interface Fn {
  name: string;
  bytes: Uint8Array;
  queue: (Job | undefined)[];
  head: number;
  running: number;
  workers: number;
  sleepers: Conn[];
}
interface Conn {
  sock: Sock;
  out: Uint8Array;
  outLen: number;
  pending: Uint8Array; // bytes of a packet split across reads: pending[0, pendLen)
  pendLen: number;
  abilities: Fn[];
  sleeping: boolean;
  dirty: boolean;
  dead: boolean;
  lastFn: Fn | null; // the function of the previous submit: a name compared, not decoded
}
interface Sock {
  data: Conn;
  write(b: Uint8Array): number;
  end(): void;
  setNoDelay(on: boolean): boolean;
}

const fns = new Map<string, Fn>();
const jobs = new Map<number, Job>(); // assigned, not yet finished
let nextHandle = 1;
const dirty: Conn[] = [];
const latin1 = (b: Uint8Array, a: number, z: number): string => Buffer.from(b.buffer, b.byteOffset + a, z - a).toString("latin1");

function header(type: number, size: number): Uint8Array {
  const h = new Uint8Array(12);
  h.set(RES);
  new DataView(h.buffer).setUint32(4, type);
  new DataView(h.buffer).setUint32(8, size);
  return h;
}
const NOOP_PKT = header(NOOP, 0), NO_JOB_PKT = header(NO_JOB, 0);

function reserve(c: Conn, n: number): void {
  if (c.outLen + n <= c.out.length) return;
  let size = c.out.length * 2;
  while (size < c.outLen + n) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(c.out.subarray(0, c.outLen));
  c.out = bigger;
}
function markDirty(c: Conn): void {
  if (c.dirty) return;
  c.dirty = true;
  dirty.push(c);
}
/** Appends a response header for a payload of `size` bytes (space for it reserved too). */
function putHeader(c: Conn, type: number, size: number): void {
  reserve(c, 12 + size);
  const o = c.out, i = c.outLen;
  o[i] = 0, o[i + 1] = 0x52, o[i + 2] = 0x45, o[i + 3] = 0x53;
  o[i + 4] = type >>> 24, o[i + 5] = type >>> 16, o[i + 6] = type >>> 8, o[i + 7] = type;
  o[i + 8] = size >>> 24, o[i + 9] = size >>> 16, o[i + 10] = size >>> 8, o[i + 11] = size;
  c.outLen = i + 12;
  markDirty(c);
}
function putBytes(c: Conn, b: Uint8Array): void {
  c.out.set(b, c.outLen);
  c.outLen += b.length;
}
function putPacket(c: Conn, pkt: Uint8Array): void {
  reserve(c, pkt.length);
  putBytes(c, pkt);
  markDirty(c);
}
const digits = (n: number): number => (n < 10 ? 1 : 1 + digits(Math.floor(n / 10)));
const handleLen = (n: number): number => 2 + digits(n);
function putHandle(c: Conn, n: number): void {
  const o = c.out;
  o[c.outLen] = HANDLE_PREFIX[0], o[c.outLen + 1] = HANDLE_PREFIX[1];
  let end = c.outLen + handleLen(n);
  c.outLen = end;
  do {
    o[--end] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
}
function flush(c: Conn): void {
  c.dirty = false;
  if (c.dead || c.outLen === 0) return;
  const n = c.sock.write(c.out.subarray(0, c.outLen));
  if (n >= c.outLen) c.outLen = 0;
  else if (n > 0) {
    c.out.copyWithin(0, n, c.outLen);
    c.outLen -= n;
  } // the rest goes out on drain
}

function fnAt(c: Conn, b: Uint8Array, a: number, z: number): Fn {
  const last = c.lastFn;
  if (last !== null && last.bytes.length === z - a) {
    let i = 0;
    while (i < z - a && last.bytes[i] === b[a + i]) i++;
    if (i === z - a) return last;
  }
  const name = latin1(b, a, z);
  let fn = fns.get(name);
  if (fn === undefined) {
    fn = { name, bytes: b.slice(a, z), queue: [], head: 0, running: 0, workers: 0, sleepers: [] };
    fns.set(name, fn);
  }
  c.lastFn = fn;
  return fn;
}
const queued = (fn: Fn): number => fn.queue.length - fn.head;
function dequeue(fn: Fn): Job {
  const job = fn.queue[fn.head] as Job;
  fn.queue[fn.head++] = undefined;
  if (fn.head === fn.queue.length) fn.queue.length = fn.head = 0;
  else if (fn.head >= 4096 && fn.head * 2 >= fn.queue.length) {
    fn.queue = fn.queue.slice(fn.head);
    fn.head = 0;
  }
  return job;
}
function unsleep(c: Conn): void {
  c.sleeping = false;
  for (const fn of c.abilities) {
    const i = fn.sleepers.indexOf(c);
    if (i >= 0) fn.sleepers.splice(i, 1);
  }
}
function dropAbility(c: Conn, fn: Fn): void {
  const i = c.abilities.indexOf(fn);
  if (i < 0) return;
  if (c.sleeping) unsleep(c);
  c.abilities.splice(i, 1);
  fn.workers--;
}

function submit(c: Conn, b: Uint8Array, a: number, z: number, bg: boolean): void {
  const n1 = b.indexOf(0, a);
  const n2 = n1 < 0 || n1 >= z ? -1 : b.indexOf(0, n1 + 1);
  if (n2 < 0 || n2 >= z) return error(c, "bad submit packet");
  const fn = fnAt(c, b, a, n1);
  const handle = nextHandle++;
  fn.queue.push({ handle, fn, unique: b.slice(n1 + 1, n2), data: b.slice(n2 + 1, z), client: bg ? null : c });
  putHeader(c, JOB_CREATED, handleLen(handle));
  putHandle(c, handle);
  const sleeper = fn.sleepers.pop(); // one job, one worker woken
  if (sleeper !== undefined) {
    unsleep(sleeper);
    putPacket(sleeper, NOOP_PKT);
  }
}
function grab(c: Conn, type: number): void {
  if (c.sleeping) unsleep(c);
  for (const fn of c.abilities) {
    if (queued(fn) === 0) continue;
    const job = dequeue(fn);
    fn.running++;
    jobs.set(job.handle, job);
    const withUniq = type !== JOB_ASSIGN, extra = type === JOB_ASSIGN_ALL ? 1 : 0;
    const size = handleLen(job.handle) + 1 + fn.bytes.length + 1 + (withUniq ? job.unique.length + 1 : 0) + extra + job.data.length;
    putHeader(c, type, size);
    putHandle(c, job.handle);
    c.out[c.outLen++] = 0;
    putBytes(c, fn.bytes);
    c.out[c.outLen++] = 0;
    if (withUniq) {
      putBytes(c, job.unique);
      c.out[c.outLen++] = 0;
    }
    if (extra) c.out[c.outLen++] = 0; // empty reducer
    putBytes(c, job.data);
    return;
  }
  putPacket(c, NO_JOB_PKT);
}
/** WORK_*: forwards the packet unchanged to a foreground job's client; `done` ends the job. */
function work(b: Uint8Array, type: number, a: number, z: number, done: boolean): void {
  let h = 0, i = a + 2;
  while (i < z && b[i] !== 0) h = h * 10 + b[i++] - 48;
  const job = jobs.get(h);
  if (job === undefined) return;
  if (done) {
    jobs.delete(h);
    job.fn.running--;
  }
  const cl = job.client;
  if (cl === null || cl.dead) return;
  putHeader(cl, type, z - a);
  putBytes(cl, b.subarray(a, z));
}
function error(c: Conn, text: string): void {
  const msg = new TextEncoder().encode(`ERR\0${text}`);
  putHeader(c, ERROR, msg.length);
  putBytes(c, msg);
}
function admin(c: Conn, line: string): void {
  let text = "ERR UNKNOWN_COMMAND Unknown+server+command\n";
  if (line === "status") {
    text = "";
    for (const fn of fns.values()) text += `${fn.name}\t${queued(fn) + fn.running}\t${fn.running}\t${fn.workers}\n`;
    text += ".\n";
  }
  putPacket(c, Buffer.from(text, "latin1"));
}

/** One request packet, payload b[a, z). */
function packet(c: Conn, type: number, b: Uint8Array, a: number, z: number): void {
  switch (type) {
    case 1: // CAN_DO
    case 23: { // CAN_DO_TIMEOUT: function \0 timeout
      const nul = b.indexOf(0, a);
      const fn = fnAt(c, b, a, nul < 0 || nul >= z ? z : nul);
      if (!c.abilities.includes(fn)) {
        c.abilities.push(fn);
        fn.workers++;
      }
      return;
    }
    case 2: // CANT_DO
      return dropAbility(c, fnAt(c, b, a, z));
    case 3: // RESET_ABILITIES
      while (c.abilities.length > 0) dropAbility(c, c.abilities[0]);
      return;
    case 4: // PRE_SLEEP
      for (const fn of c.abilities) if (queued(fn) > 0) return putPacket(c, NOOP_PKT);
      if (!c.sleeping) {
        c.sleeping = true;
        for (const fn of c.abilities) fn.sleepers.push(c);
      }
      return;
    case 7: // SUBMIT_JOB, _HIGH, _LOW: one FIFO, no priorities
    case 21:
    case 33:
      return submit(c, b, a, z, false);
    case 18: // SUBMIT_JOB_BG, _HIGH_BG, _LOW_BG
    case 32:
    case 34:
      return submit(c, b, a, z, true);
    case 9: // GRAB_JOB, _UNIQ, _ALL
      return grab(c, JOB_ASSIGN);
    case 30:
      return grab(c, JOB_ASSIGN_UNIQ);
    case 39:
      return grab(c, JOB_ASSIGN_ALL);
    case 13: // WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION
    case 14:
    case 25:
      return work(b, type, a, z, true);
    case 12: // WORK_STATUS, WORK_DATA, WORK_WARNING
    case 28:
    case 29:
      return work(b, type, a, z, false);
    case 16: // ECHO_REQ
      putHeader(c, ECHO_RES, z - a);
      return putBytes(c, b.subarray(a, z));
    case 26: // OPTION_REQ: every option accepted
      putHeader(c, OPTION_RES, z - a);
      return putBytes(c, b.subarray(a, z));
    case 22: // SET_CLIENT_ID
      return;
    default:
      return error(c, `floor server does not serve packet type ${type}`);
  }
}

/** Consumes every whole packet or admin line of b; returns where the unconsumed tail starts. */
function parse(c: Conn, b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  while (i < n) {
    if (b[i] !== 0) { // admin text line
      const nl = b.indexOf(10, i);
      if (nl < 0) return i;
      let end = nl;
      if (end > i && b[end - 1] === 13) end--;
      admin(c, latin1(b, i, end).trim());
      i = nl + 1;
      continue;
    }
    if (n - i < 12) return i;
    const magic = (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
    const type = ((b[i + 4] << 24) | (b[i + 5] << 16) | (b[i + 6] << 8) | b[i + 7]) >>> 0;
    const size = ((b[i + 8] << 24) | (b[i + 9] << 16) | (b[i + 10] << 8) | b[i + 11]) >>> 0;
    if (magic !== REQ_MAGIC) {
      error(c, "bad magic");
      c.sock.end();
      return n;
    }
    if (n - i - 12 < size) return i;
    packet(c, type, b, i + 12, i + 12 + size);
    i += 12 + size;
  }
  return i;
}

function onData(c: Conn, chunk: Uint8Array): void {
  let b = chunk;
  if (c.pendLen > 0) { // append to the split packet's buffer: one copy per byte, not one per read
    if (c.pendLen + chunk.length > c.pending.length) {
      const bigger = new Uint8Array(Math.max(c.pending.length * 2, c.pendLen + chunk.length));
      bigger.set(c.pending.subarray(0, c.pendLen));
      c.pending = bigger;
    }
    c.pending.set(chunk, c.pendLen);
    c.pendLen += chunk.length;
    b = c.pending.subarray(0, c.pendLen);
  }
  const used = parse(c, b);
  const rest = b.length - used;
  if (rest > 0 && b === chunk) {
    if (rest > c.pending.length) c.pending = new Uint8Array(Math.max(rest, 4096));
    c.pending.set(chunk.subarray(used));
  } else if (rest > 0 && used > 0) c.pending.copyWithin(0, used, c.pendLen);
  c.pendLen = rest;
  for (let i = 0; i < dirty.length; i++) flush(dirty[i]);
  dirty.length = 0;
}
function onClose(c: Conn): void {
  if (c.dead) return;
  c.dead = true;
  while (c.abilities.length > 0) dropAbility(c, c.abilities[0]);
}

const { values } = parseArgs({ options: { port: { type: "string" }, host: { type: "string", default: "127.0.0.1" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: bun scripts/bench/floor_server.ts --port P [--host 127.0.0.1]");
  process.exit(1);
}
(Bun as unknown as { listen(o: unknown): unknown }).listen({
  hostname: values.host,
  port,
  socket: {
    binaryType: "uint8array",
    open(s: Sock) {
      s.setNoDelay(true);
      s.data = {
        sock: s,
        out: new Uint8Array(16384),
        outLen: 0,
        pending: new Uint8Array(0),
        pendLen: 0,
        abilities: [],
        sleeping: false,
        dirty: false,
        dead: false,
        lastFn: null,
      };
    },
    data: (s: Sock, chunk: Uint8Array) => onData(s.data, chunk),
    drain: (s: Sock) => flush(s.data),
    close: (s: Sock) => onClose(s.data),
    error: (s: Sock) => onClose(s.data),
  },
});
process.on("SIGTERM", () => process.exit(0));
