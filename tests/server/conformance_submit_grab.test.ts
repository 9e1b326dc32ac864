/**
 * Conformance scenarios for submitting, queueing, waking and grabbing
 * (docs/protocol.md §6: G02-G12, G34, G36), at the socket level against
 * every available target. The epoch checks (G34) run gearbox in process on a
 * manual clock (withTimedConns); gearmand, a separate process, in real time.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Cmd } from "../../src/protocol/commands.ts";
import type { RawConn } from "../helpers/raw_conn.ts";
import { TARGETS } from "../helpers/servers.ts";
import {
  availability,
  expectAllSilent,
  expectCreated,
  expectRes,
  firstToReceive,
  gearboxOnly,
  isGearbox,
  nul,
  priorityLine,
  sleepingWorker,
  statusLine,
  sync,
  text,
  useServer,
  withConns,
  withTimedConns,
} from "../helpers/scenario.ts";

/** G02's setup: a worker that got NO_JOB and is asleep, and a client whose job woke it. */
async function g02Setup(open: () => Promise<RawConn>, fn: string, payload: string) {
  const w = await open();
  const c = await open();
  w.sendPacket(Cmd.CAN_DO, fn);
  w.sendPacket(Cmd.GRAB_JOB);
  await expectRes(w, Cmd.NO_JOB, "");
  w.sendPacket(Cmd.PRE_SLEEP);
  await sync(w);
  c.sendPacket(Cmd.SUBMIT_JOB, fn, "", payload);
  const h = await expectCreated(c);
  await expectRes(w, Cmd.NOOP, "");
  await sync(w);
  return { w, c, h };
}

/** Submits background jobs from `c` and returns their handles, in order. */
async function submitAll(c: RawConn, jobs: [code: number, fn: string, unique: string, data: string][]): Promise<string[]> {
  const handles: string[] = [];
  for (const [code, fn, unique, data] of jobs) {
    c.sendPacket(code, fn, unique, data);
    handles.push(await expectCreated(c));
  }
  return handles;
}

/** Sends GRAB_JOB and returns the data of the assigned job (asserting handle and function). */
async function grabData(w: RawConn, handleOf: Map<string, string>): Promise<string> {
  w.sendPacket(Cmd.GRAB_JOB);
  const p = await expectRes(w, Cmd.JOB_ASSIGN);
  const [h, fn, ...rest] = text(p).split("\0");
  const data = rest.join("\0");
  assert.equal(handleOf.get(data), h, `handle of job ${data}`);
  assert.ok(fn, "function field present");
  return data;
}

for (const target of TARGETS) {
  describe(`conformance: submit and grab [${target.name}]`, availability(target), () => {
    const srv = useServer(target);

    test("G02: a sleeping worker gets NO_JOB, silence, exactly one NOOP for a new job, then JOB_ASSIGN handle\\0function\\0payload", () =>
      withConns(srv.port, async function g02WakeAndAssign(open) {
        const { w, h } = await g02Setup(open, "g02_fn", "pay\0load");
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.JOB_ASSIGN, nul(h, "g02_fn", "pay\0load"));
      }));

    test("G03: WORK_STATUS, WORK_DATA, WORK_WARNING and WORK_COMPLETE reach the client byte-identical and in order while `status` tracks queued, running and done", () =>
      withConns(srv.port, async function g03ResultsAndStatus(open) {
        const admin = await open();
        const { w, c, h } = await g02Setup(open, "g03_fn", "input");
        assert.equal(await statusLine(admin, "g03_fn"), "g03_fn\t1\t0\t1");
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.JOB_ASSIGN, nul(h, "g03_fn", "input"));
        assert.equal(await statusLine(admin, "g03_fn"), "g03_fn\t1\t1\t1");
        w.sendPacket(Cmd.WORK_STATUS, h, "1", "4");
        w.sendPacket(Cmd.WORK_DATA, h, "d1\0x");
        w.sendPacket(Cmd.WORK_WARNING, h, "warn");
        w.sendPacket(Cmd.WORK_COMPLETE, h, "result\0bin");
        await expectRes(c, Cmd.WORK_STATUS, nul(h, "1", "4"));
        await expectRes(c, Cmd.WORK_DATA, nul(h, "d1", "x"));
        await expectRes(c, Cmd.WORK_WARNING, nul(h, "warn"));
        await expectRes(c, Cmd.WORK_COMPLETE, nul(h, "result", "bin"));
        await sync(w); // nothing but the echo comes back to the worker
        assert.equal(await statusLine(admin, "g03_fn"), "g03_fn\t0\t0\t1");
      }));

    test("G04: a queued background job shows in status, prioritystatus and show jobs", () =>
      withConns(srv.port, async function g04QueuedBackground(open) {
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g04_fn", "g04_u", "x");
        const h = await expectCreated(c);
        assert.equal(await statusLine(c, "g04_fn"), "g04_fn\t1\t0\t0");
        assert.equal(await priorityLine(c, "g04_fn"), "g04_fn\t0\t1\t0\t0");
        const jobs = (await c.adminList("show jobs")).split("\n");
        assert.ok(jobs.includes(`${h}\t0\t0\t1`), `show jobs lists ${h}\\t0\\t0\\t1: ${JSON.stringify(jobs)}`);
      }));

    test("G05: GET_STATUS reports queued, running, progress 3/10 and unknown after completion with exact bytes", () =>
      withConns(srv.port, async function g05GetStatusLifecycle(open) {
        const c = await open();
        const w = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g05_fn", "g05_u", "x");
        const h = await expectCreated(c);
        c.sendPacket(Cmd.GET_STATUS, h);
        await expectRes(c, Cmd.STATUS_RES, nul(h, "1", "0", "0", "0"));
        w.sendPacket(Cmd.CAN_DO, "g05_fn");
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.JOB_ASSIGN, nul(h, "g05_fn", "x"));
        c.sendPacket(Cmd.GET_STATUS, h);
        await expectRes(c, Cmd.STATUS_RES, nul(h, "1", "1", "0", "0"));
        w.sendPacket(Cmd.WORK_STATUS, h, "3", "10");
        await sync(w);
        c.sendPacket(Cmd.GET_STATUS, h);
        await expectRes(c, Cmd.STATUS_RES, nul(h, "1", "1", "3", "10"));
        w.sendPacket(Cmd.WORK_COMPLETE, h, "ok");
        await sync(w);
        c.sendPacket(Cmd.GET_STATUS, h);
        await expectRes(c, Cmd.STATUS_RES, nul(h, "0", "0", "0", "0"));
      }));

    test("G06: GET_STATUS of an unknown handle and GET_STATUS_UNIQUE of unknown and queued uniques answer with exact bytes", () =>
      withConns(srv.port, async function g06StatusQueries(open) {
        const c = await open();
        c.sendPacket(Cmd.GET_STATUS, "H:nohost:12345");
        await expectRes(c, Cmd.STATUS_RES, nul("H:nohost:12345", "0", "0", "0", "0"));
        c.sendPacket(Cmd.GET_STATUS_UNIQUE, "nope");
        await expectRes(c, Cmd.STATUS_RES_UNIQUE, nul("nope", "0", "0", "0", "0", "0"));
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g06_fn", "g06_u", "x");
        await expectCreated(c);
        c.sendPacket(Cmd.GET_STATUS_UNIQUE, "g06_u");
        await expectRes(c, Cmd.STATUS_RES_UNIQUE, nul("g06_u", "1", "0", "0", "0", "0"));
      }));

    test("G07: within one function jobs come out HIGH, NORMAL, LOW, each FIFO, then NO_JOB", () =>
      withConns(srv.port, async function g07PriorityOrder(open) {
        const c = await open();
        const w = await open();
        const order: [number, string][] = [
          [Cmd.SUBMIT_JOB_LOW_BG, "l1"],
          [Cmd.SUBMIT_JOB_BG, "n1"],
          [Cmd.SUBMIT_JOB_HIGH_BG, "h1"],
          [Cmd.SUBMIT_JOB_LOW_BG, "l2"],
          [Cmd.SUBMIT_JOB_BG, "n2"],
          [Cmd.SUBMIT_JOB_HIGH_BG, "h2"],
        ];
        const handles = await submitAll(c, order.map(([code, name]) => [code, "g07_fn", `g07_${name}`, name]));
        const handleOf = new Map(order.map(([, name], i) => [name, handles[i]!]));
        w.sendPacket(Cmd.CAN_DO, "g07_fn");
        const got: string[] = [];
        for (let i = 0; i < 6; i++) got.push(await grabData(w, handleOf));
        assert.deepEqual(got, ["h1", "h2", "n1", "n2", "l1", "l2"]);
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.NO_JOB, "");
        for (const h of handles) w.sendPacket(Cmd.WORK_COMPLETE, h, "");
        await sync(w);
      }));

    /** Queues a:LOW, b:HIGH, c:NORMAL on three functions; a worker registers a, b, c and grabs three times. */
    async function g08Grabs(open: () => Promise<RawConn>, prefix: string): Promise<string[]> {
      const c = await open();
      const w = await open();
      const fns = { a: `${prefix}_a`, b: `${prefix}_b`, c: `${prefix}_c` };
      const handles = await submitAll(c, [
        [Cmd.SUBMIT_JOB_LOW_BG, fns.a, "", "a"],
        [Cmd.SUBMIT_JOB_HIGH_BG, fns.b, "", "b"],
        [Cmd.SUBMIT_JOB_BG, fns.c, "", "c"],
      ]);
      const handleOf = new Map([["a", handles[0]!], ["b", handles[1]!], ["c", handles[2]!]]);
      w.sendPacket(Cmd.CAN_DO, fns.a);
      w.sendPacket(Cmd.CAN_DO, fns.b);
      w.sendPacket(Cmd.CAN_DO, fns.c);
      const got: string[] = [];
      for (let i = 0; i < 3; i++) got.push(await grabData(w, handleOf));
      w.sendPacket(Cmd.GRAB_JOB);
      await expectRes(w, Cmd.NO_JOB, "");
      for (const h of handles) w.sendPacket(Cmd.WORK_COMPLETE, h, "");
      await sync(w);
      return got;
    }

    test("G08: jobs queued on three functions of one worker are each assigned exactly once, then NO_JOB", () =>
      withConns(srv.port, async function g08EachOnce(open) {
        const got = await g08Grabs(open, "g08t");
        assert.deepEqual([...got].sort(), ["a", "b", "c"]);
      }));

    test(
      "G08: across a worker's functions the highest priority goes first (2.0 rule): b (HIGH), c (NORMAL), a (LOW)",
      gearboxOnly(
        target,
        "documented gearmand 1.1.20 behaviour (docs/protocol.md §3.3, G08): priority is only compared within a function, gearmand gives c, b, a",
      ),
      () =>
        withConns(srv.port, async function g08GlobalPriority(open) {
          assert.deepEqual(await g08Grabs(open, "g08s"), ["b", "c", "a"]);
        }),
    );

    test("G09: one job wakes every sleeping worker once and is assigned to exactly one", () =>
      withConns(srv.port, async function g09WakeAll(open) {
        const workers = [
          await sleepingWorker(open, "g09_fn"),
          await sleepingWorker(open, "g09_fn"),
          await sleepingWorker(open, "g09_fn"),
        ];
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g09_fn", "", "only");
        const h = await expectCreated(c);
        for (const w of workers) await expectRes(w, Cmd.NOOP, "");
        await expectAllSilent(workers);
        for (const w of workers) w.sendPacket(Cmd.GRAB_JOB);
        const replies = [];
        for (const w of workers) replies.push(await w.expectPacket());
        const assigned = replies.filter((p) => p.code === Cmd.JOB_ASSIGN);
        const noJob = replies.filter((p) => p.code === Cmd.NO_JOB);
        assert.equal(assigned.length, 1, "exactly one JOB_ASSIGN");
        assert.equal(noJob.length, 2, "two NO_JOB");
        assert.equal(text(assigned[0]!), nul(h, "g09_fn", "only"));
        const owner = workers[replies.indexOf(assigned[0]!)]!;
        owner.sendPacket(Cmd.WORK_COMPLETE, h, "");
        await sync(owner);
      }));

    test("G10: a sleeping worker gets a single NOOP for three jobs queued while it sleeps", () =>
      withConns(srv.port, async function g10OneNoopForThree(open) {
        const w = await sleepingWorker(open, "g10_fn");
        const c = await open();
        await submitAll(c, [
          [Cmd.SUBMIT_JOB_BG, "g10_fn", "", "1"],
          [Cmd.SUBMIT_JOB_BG, "g10_fn", "", "2"],
          [Cmd.SUBMIT_JOB_BG, "g10_fn", "", "3"],
        ]);
        await expectRes(w, Cmd.NOOP, "");
        await sync(w);
      }));

    test("G10: PRE_SLEEP with a job already queued is answered by a NOOP every time", () =>
      withConns(srv.port, async function g10PreSleepWithWork(open) {
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g10q_fn", "", "waiting");
        await expectCreated(c);
        const w = await open();
        w.sendPacket(Cmd.CAN_DO, "g10q_fn");
        w.sendPacket(Cmd.PRE_SLEEP);
        await expectRes(w, Cmd.NOOP, "");
        w.sendPacket(Cmd.PRE_SLEEP);
        await expectRes(w, Cmd.NOOP, "");
        await sync(w);
      }));

    test("G11: a connection with no abilities gets NO_JOB and is never woken by other functions' jobs", () =>
      withConns(srv.port, async function g11NoAbilities(open) {
        const w = await open();
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.NO_JOB, "");
        w.sendPacket(Cmd.PRE_SLEEP);
        await sync(w);
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g11_fn", "", "x");
        await expectCreated(c);
        await sync(w);
      }));

    test(
      "G34: an epoch job in the past is assigned at once; one 3 s ahead gets NO_JOB until due, then is assigned",
      { timeout: 15_000 },
      () =>
        withTimedConns(target, srv.port, async function g34EpochHeldUntilDue(open, time) {
          const c = await open();
          const w = await open();
          const due = Math.floor(time.now() / 1000) + 3;
          c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "g34a_fn", "g34a_future", String(due), "future");
          const future = await expectCreated(c);
          c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "g34a_fn", "g34a_past", String(due - 103), "past");
          const past = await expectCreated(c);
          w.sendPacket(Cmd.CAN_DO, "g34a_fn");
          w.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w, Cmd.JOB_ASSIGN, nul(past, "g34a_fn", "past"));
          w.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w, Cmd.NO_JOB, "");
          assert.ok(time.now() < due * 1000, "the NO_JOB came before the due time");
          await time.pass(due * 1000 + 300 - time.now());
          w.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w, Cmd.JOB_ASSIGN, nul(future, "g34a_fn", "future"));
          w.sendPacket(Cmd.WORK_COMPLETE, past, "");
          w.sendPacket(Cmd.WORK_COMPLETE, future, "");
          await sync(w);
        }),
    );

    test(
      "G34: a worker sleeping on a future epoch job gets a NOOP when it becomes due, then JOB_ASSIGN",
      {
        timeout: 15_000,
        ...gearboxOnly(
          target,
          "documented gearmand 1.1.20 bug (docs/protocol.md §3.11, G34): no NOOP is sent when an epoch job becomes due",
        ),
      },
      () =>
        withTimedConns(target, srv.port, async function g34NoopAtDueTime(open, time) {
          const c = await open();
          const w = await open();
          const due = Math.floor(time.now() / 1000) + 3;
          c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "g34b_fn", "g34b_future", String(due), "future");
          const future = await expectCreated(c);
          c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "g34b_fn", "g34b_past", String(due - 103), "past");
          const past = await expectCreated(c);
          w.sendPacket(Cmd.CAN_DO, "g34b_fn");
          w.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w, Cmd.JOB_ASSIGN, nul(past, "g34b_fn", "past"));
          w.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w, Cmd.NO_JOB, "");
          w.sendPacket(Cmd.PRE_SLEEP);
          await sync(w);
          await time.pass(due * 1000 - 1 - time.now());
          await sync(w); // no NOOP 1 ms before the due time
          await time.pass(1);
          await expectRes(w, Cmd.NOOP, "", 4000);
          assert.ok(time.now() >= due * 1000 - 250, `NOOP came ${due * 1000 - time.now()} ms before the due time`);
          w.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w, Cmd.JOB_ASSIGN, nul(future, "g34b_fn", "future"));
          w.sendPacket(Cmd.WORK_COMPLETE, past, "");
          w.sendPacket(Cmd.WORK_COMPLETE, future, "");
          await sync(w);
        }),
    );

    test("G36: GRAB_JOB_ALL gives JOB_ASSIGN_UNIQ for a plain job and JOB_ASSIGN_ALL with the reducer for a reduce job; GRAB_JOB_UNIQ gives JOB_ASSIGN_UNIQ", () =>
      withConns(srv.port, async function g36AssignVariants(open) {
        const c = await open();
        const w = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g36_fn", "g36_u", "data");
        const plain = await expectCreated(c);
        c.sendPacket(Cmd.SUBMIT_REDUCE_JOB_BACKGROUND, "g36_fn", "g36_u2", "myreducer", "agg", "data2");
        const reduce = await expectCreated(c);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g36_fn", "g36_u3", "data3");
        const third = await expectCreated(c);
        w.sendPacket(Cmd.CAN_DO, "g36_fn");
        w.sendPacket(Cmd.GRAB_JOB_ALL);
        await expectRes(w, Cmd.JOB_ASSIGN_UNIQ, nul(plain, "g36_fn", "g36_u", "data"));
        w.sendPacket(Cmd.GRAB_JOB_ALL);
        await expectRes(w, Cmd.JOB_ASSIGN_ALL, nul(reduce, "g36_fn", "g36_u2", "myreducer", "data2"));
        w.sendPacket(Cmd.GRAB_JOB_UNIQ);
        await expectRes(w, Cmd.JOB_ASSIGN_UNIQ, nul(third, "g36_fn", "g36_u3", "data3"));
        for (const h of [plain, reduce, third]) w.sendPacket(Cmd.WORK_COMPLETE, h, "");
        await sync(w);
      }));
  });

  describe(`conformance: limited wake-up [${target.name}]`, availability(target), () => {
    // gearbox also re-wakes after --wakeup-delay while a job waits; G12 describes
    // the plain per-job limit, so that extra round is switched off here.
    const srv = useServer(target, isGearbox(target) ? { workerWakeup: 1, extra: ["--wakeup-delay", "-1"] } : { workerWakeup: 1 });

    test("G12: with worker-wakeup 1 each new job wakes one more sleeping worker, a different one each time, and the fourth wakes nobody", () =>
      withConns(srv.port, async function g12WakeOnePerJob(open) {
        const workers = [
          await sleepingWorker(open, "g12_fn"),
          await sleepingWorker(open, "g12_fn"),
          await sleepingWorker(open, "g12_fn"),
        ];
        const c = await open();
        const woken = new Set<number>();
        for (let job = 1; job <= 4; job++) {
          c.sendPacket(Cmd.SUBMIT_JOB_BG, "g12_fn", "", `job${job}`);
          await expectCreated(c);
          if (job <= 3) {
            const i = await firstToReceive(workers);
            assert.ok(!woken.has(i), `job ${job} woke worker ${i}, which was already woken`);
            await expectRes(workers[i]!, Cmd.NOOP, "");
            woken.add(i);
          }
          await expectAllSilent(workers);
        }
        assert.equal(woken.size, 3);
      }));
  });
}
