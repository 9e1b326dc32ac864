/**
 * Shared pieces of the socket-level conformance suite (docs/protocol.md §6):
 * one server per describe block, connections that are always closed, exact
 * packet assertions, cross-connection synchronisation, and admin `status`
 * parsing. Every wait here is bounded.
 */
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn, type RawPacket } from "./raw_conn.ts";
import type { RunningServer, ServerOptions, TARGETS } from "./servers.ts";
import { ManualClock } from "../../mod.ts";
import { withServer } from "./inproc.ts";
import { sleep, waitUntil } from "./wait.ts";

export type Target = (typeof TARGETS)[number];

/** Joins arguments with NUL, the way a payload is laid out on the wire. */
export function nul(...parts: string[]): string {
  return parts.join("\0");
}

/** A packet's payload as a byte-transparent string. */
export function text(p: RawPacket): string {
  return p.body.toString("latin1");
}

/**
 * Reads the next packet and asserts its magic (`\0RES`), type and, when
 * given, its exact payload.
 */
export async function expectRes(c: RawConn, code: number, payload?: string | Buffer, timeoutMs = 2000): Promise<RawPacket> {
  const p = await c.expectPacket(code, timeoutMs);
  assert.equal(p.magic, "\0RES", "server packets carry the \\0RES magic");
  if (typeof payload === "string") assert.equal(text(p), payload);
  else if (payload !== undefined) assert.ok(p.body.equals(payload), `payload differs (got ${p.body.length} bytes, want ${payload.length})`);
  return p;
}

/** Reads JOB_CREATED, checks the `H:<something>:<n>` shape, returns the handle. */
export async function expectCreated(c: RawConn, timeoutMs = 2000): Promise<string> {
  const h = text(await expectRes(c, Cmd.JOB_CREATED, undefined, timeoutMs));
  assert.match(h, /^H:[^\0]+:\d+$/, `handle ${JSON.stringify(h)} has the H:<host>:<n> shape`);
  return h;
}

/** The counter part `n` of a handle `H:<something>:<n>`. */
export function handleNumber(h: string): number {
  const m = /:(\d+)$/.exec(h);
  assert.ok(m, `handle ${JSON.stringify(h)} ends in :<n>`);
  return Number(m[1]);
}

/** Reads an ERROR packet and checks its `CODE\0text` payload (text optional). */
export async function expectError(c: RawConn, code: string, message?: string): Promise<RawPacket> {
  const p = await expectRes(c, Cmd.ERROR);
  const body = text(p);
  if (message === undefined) assert.equal(body.split("\0")[0], code, `ERROR code in ${JSON.stringify(body)}`);
  else assert.equal(body, nul(code, message));
  return p;
}

let syncSeq = 0;

/**
 * Round-trips an ECHO on `c`: when it returns, the server has processed every
 * packet `c` sent before. Fails if any other packet arrives first.
 */
export async function sync(c: RawConn): Promise<void> {
  const tag = `sync-${++syncSeq}`;
  c.sendPacket(Cmd.ECHO_REQ, tag);
  await expectRes(c, Cmd.ECHO_RES, tag);
}

/** A connection that registered `functions` and sent PRE_SLEEP, processed by the server. */
export async function sleepingWorker(open: () => Promise<RawConn>, ...functions: string[]): Promise<RawConn> {
  const w = await open();
  for (const f of functions) w.sendPacket(Cmd.CAN_DO, f);
  w.sendPacket(Cmd.PRE_SLEEP);
  await sync(w);
  return w;
}

/** Waits until one of `conns` has received bytes and returns its index. */
export async function firstToReceive(conns: RawConn[], ms = 2000): Promise<number> {
  let idx = -1;
  await waitUntil("a packet on any connection", () => {
    idx = conns.findIndex((c) => c.buffered.length > 0);
    return idx !== -1;
  }, ms);
  return idx;
}

/**
 * Asserts that none of `conns` has received anything the server sent before
 * this point: an ECHO round trip on each must come back first. Whatever the
 * server did so far (a wake-up, a result) was written to the connection
 * before the echo's reply, so this is a barrier, not a wait.
 */
export async function expectAllSilent(conns: RawConn[]): Promise<void> {
  for (const [i, c] of conns.entries()) {
    assert.equal(c.buffered.length, 0, `connection #${i} expected silence, got ${JSON.stringify(c.buffered.toString("latin1"))}`);
    await sync(c);
  }
}

/** Reads a text reply list that ends with a line that is exactly `.`. */
export async function readList(c: RawConn): Promise<string> {
  let out = "";
  for (;;) {
    const line = await c.readUntil("\n");
    out += line;
    if (line === ".\n") return out;
    if (out === line && line.startsWith("ERR ")) return out;
  }
}

/** Lines of a list reply (without the final `.` and without line ends). */
export function listLines(list: string): string[] {
  assert.ok(list.endsWith(".\n"), `list reply ends with ".\\n": ${JSON.stringify(list)}`);
  return list.slice(0, -2).split("\n").filter((l, i, all) => i < all.length - 1 || l !== "");
}

/** The `status` line for `fn` (`fn\tTOTAL\tRUNNING\tWORKERS`), or undefined. */
export async function statusLine(admin: RawConn, fn: string): Promise<string | undefined> {
  return listLines(await admin.adminList("status")).find((l) => l.startsWith(`${fn}\t`));
}

/** The `prioritystatus` line for `fn`, or undefined. */
export async function priorityLine(admin: RawConn, fn: string): Promise<string | undefined> {
  return listLines(await admin.adminList("prioritystatus")).find((l) => l.startsWith(`${fn}\t`));
}

/** Polls `status` until `fn`'s line equals `expected` (undefined = absent). */
export async function waitForStatus(admin: RawConn, fn: string, expected: string | undefined, ms = 2000): Promise<void> {
  let last: string | undefined;
  try {
    await waitUntil(`status ${JSON.stringify(expected)}`, async () => (last = await statusLine(admin, fn)) === expected, ms);
  } catch {
    assert.equal(last, expected, `status line for ${fn}`);
  }
}

/** Polls GET_STATUS on `c` until the STATUS_RES payload equals `expected`. */
export async function waitForJobStatus(c: RawConn, handle: string, expected: string, ms = 2000): Promise<void> {
  let last = "";
  try {
    await waitUntil(`GET_STATUS ${JSON.stringify(expected)}`, async () => {
      c.sendPacket(Cmd.GET_STATUS, handle);
      last = text(await expectRes(c, Cmd.STATUS_RES));
      return last === expected;
    }, ms);
  } catch {
    assert.equal(last, expected, `STATUS_RES for ${handle}`);
  }
}

/** Opens connections to one server and closes all of them when done. */
export class Conns {
  #open: RawConn[] = [];
  constructor(readonly port: number) {}
  open = async (): Promise<RawConn> => {
    const c = await RawConn.connect(this.port);
    this.#open.push(c);
    return c;
  };
  closeAll(): void {
    for (const c of this.#open.splice(0)) c.close();
  }
}

/** Runs `fn` with a connection factory for `port`; every connection is closed afterwards. */
export async function withConns(port: number, fn: (open: () => Promise<RawConn>) => Promise<void>): Promise<void> {
  const conns = new Conns(port);
  try {
    await fn(conns.open);
  } finally {
    conns.closeAll();
  }
}

/** The time a timer-driven check runs on: its clock, and a way to let time pass. */
export interface TestTime {
  now(): number;
  pass(ms: number): Promise<void>;
}

/**
 * Runs a check that waits for a deadline the server owns (an epoch job, an
 * assignment timeout). gearbox runs in this process on a ManualClock that
 * `pass` advances, so the check waits for nothing; the binary adds nothing
 * to it (the same code). Any other target is a separate process on real
 * time, where `pass` sleeps.
 */
export async function withTimedConns(
  target: Target,
  port: number,
  fn: (open: () => Promise<RawConn>, time: TestTime) => Promise<void>,
): Promise<void> {
  if (!isGearbox(target)) return await withConns(port, (open) => fn(open, { now: () => Date.now(), pass: (ms) => sleep(Math.max(0, ms)) }));
  const clock = new ManualClock(Date.now());
  await withServer({ clock }, (_server, inProcessPort) =>
    withConns(inProcessPort, (open) =>
      fn(open, {
        now: () => clock.now(),
        pass: (ms) => Promise.resolve(clock.advance(Math.max(0, ms))),
      })));
}

/**
 * Starts one server of `target` for the enclosing describe block (stopped in
 * `after`). The returned object's `port` is valid inside tests.
 */
export function useServer(target: Target, options: ServerOptions = {}): { readonly port: number; readonly server: RunningServer } {
  let running: RunningServer | undefined;
  before(async () => {
    running = await target.start(options);
  });
  after(async () => {
    await running?.stop();
  });
  return {
    get server() {
      if (!running) throw new Error(`${target.name} did not start`);
      return running;
    },
    get port() {
      return this.server.port;
    },
  };
}

/** Options for `describe` that skip targets not installed here. */
export function availability(target: Target): { skip: string | false } {
  return { skip: target.available ? false : `${target.name} is not installed` };
}

/**
 * Test options that skip a gearbox-only check on gearmand; `reason` must cite
 * the documented gearmand behaviour (its docs/protocol.md section).
 */
export function gearboxOnly(target: Target, reason: string): { skip: string | false } {
  return { skip: target.name === "gearmand" ? reason : false };
}

/** True when the gearbox-specific (stricter) expectation applies. */
export function isGearbox(target: Target): boolean {
  return target.name === "gearbox";
}
