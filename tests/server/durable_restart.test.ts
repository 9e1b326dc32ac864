import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { startGearbox } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

test("acknowledged background jobs in the sqlite store survive SIGKILL and come back with their handles", async () => {
  const db = join(tempDir("gearbox-durable-"), "jobs.db");
  const extra = ["--store", `sqlite:${db}`];
  const first = await startGearbox({ extra });
  const handles: string[] = [];
  try {
    const c = await RawConn.connect(first.port);
    for (let i = 0; i < 50; i++) {
      c.sendPacket(i % 2 ? Cmd.SUBMIT_JOB_BG : Cmd.SUBMIT_JOB_LOW_BG, "durable_fn", i % 5 === 0 ? "" : `u${i}`, `payload ${i}\0`);
    }
    for (let i = 0; i < 50; i++) handles.push((await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1"));
    c.close();
  } finally {
    await first.stop("SIGKILL");
  }
  const second = await startGearbox({ extra });
  try {
    const w = await RawConn.connect(second.port);
    assert.equal(await w.adminList("status"), "durable_fn\t50\t0\t0\n.\n");
    w.sendPacket(Cmd.CAN_DO, "durable_fn");
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      w.sendPacket(Cmd.GRAB_JOB_UNIQ);
      const job = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
      seen.add(job.args[0]!);
      w.sendPacket(Cmd.WORK_COMPLETE, job.args[0]!, "done");
    }
    assert.deepEqual([...seen].sort(), [...handles].sort());
    assert.equal(await w.adminList("status"), "durable_fn\t0\t0\t1\n.\n");
    w.close();
  } finally {
    await second.stop("SIGTERM");
  }
  const third = await startGearbox({ extra });
  // A second server on the same file must not replay (and run) the same jobs twice.
  const { spawnSync } = await import("node:child_process");
  const { gearboxCommand } = await import("../helpers/servers.ts");
  const [cmd, ...pre] = gearboxCommand();
  const twin = spawnSync(cmd!, [...pre, "serve", "--port", "0", "--store", `sqlite:${db}`, "--log-level", "silent"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  assert.equal(twin.status, 1);
  assert.match(twin.stderr, /is locked by another process/);
  try {
    const a = await RawConn.connect(third.port);
    assert.equal(await a.adminList("status"), ".\n", "completed jobs are gone from the store");
    a.close();
  } finally {
    await third.stop();
  }
});

test("a retry scheduled by a failure survives SIGKILL with its delay and failure count", async () => {
  const db = join(tempDir("gearbox-retry-"), "jobs.db");
  const extra = ["--store", `sqlite:${db}`, "--max-retries", "3", "--retry-delay", "60", "--completion-commit-delay", "0"];
  const first = await startGearbox({ extra });
  let handle = "";
  try {
    const c = await RawConn.connect(first.port);
    c.sendPacket(Cmd.SUBMIT_JOB_BG, "retry_fn", "r1", "x");
    handle = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
    c.sendPacket(Cmd.CAN_DO, "retry_fn");
    c.sendPacket(Cmd.GRAB_JOB);
    await c.expectPacket(Cmd.JOB_ASSIGN);
    c.sendPacket(Cmd.WORK_FAIL, handle);
    assert.equal(await c.adminList("show jobs"), `${handle}\t1\t0\t1\n.\n`);
    // A later acknowledged submission proves the failure's update is committed (commits are in order).
    c.sendPacket(Cmd.SUBMIT_JOB_BG, "marker_fn", "", "m");
    await c.expectPacket(Cmd.JOB_CREATED);
    c.close();
  } finally {
    await first.stop("SIGKILL");
  }
  const second = await startGearbox({ extra });
  try {
    const w = await RawConn.connect(second.port);
    assert.equal((await w.adminList("show jobs")).split("\n").find((l) => l.startsWith(`${handle}\t`)), `${handle}\t1\t0\t1`);
    w.sendPacket(Cmd.CAN_DO, "retry_fn");
    w.sendPacket(Cmd.GRAB_JOB);
    await w.expectPacket(Cmd.NO_JOB); // not due for a minute
    w.close();
  } finally {
    await second.stop();
  }
});

test("without a retry policy a lost worker's failure and attempt count survive SIGKILL", async () => {
  const db = join(tempDir("gearbox-lost-"), "jobs.db");
  const extra = ["--store", `sqlite:${db}`];
  const first = await startGearbox({ extra });
  let handle = "";
  try {
    const c = await RawConn.connect(first.port);
    c.sendPacket(Cmd.SUBMIT_JOB_BG, "lost_fn", "l1", "x");
    handle = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
    const w = await RawConn.connect(first.port);
    w.sendPacket(Cmd.CAN_DO, "lost_fn");
    w.sendPacket(Cmd.GRAB_JOB);
    await w.expectPacket(Cmd.JOB_ASSIGN);
    w.close();
    // Wait until the server has taken the job back from the lost worker...
    await waitUntil("the job is queued again", async () => await c.adminList("status") === "lost_fn\t1\t0\t0\n.\n");
    // ...then a later acknowledged submission proves that requeue's update is committed (commits are in order).
    c.sendPacket(Cmd.SUBMIT_JOB_BG, "marker_fn", "", "m");
    await c.expectPacket(Cmd.JOB_CREATED);
    c.close();
  } finally {
    await first.stop("SIGKILL");
  }
  const second = await startGearbox({ extra });
  try {
    const a = await RawConn.connect(second.port);
    const shown = await a.adminList(`job show ${handle}`);
    assert.match(shown, /^retries\t1$/m);
    assert.match(shown, /^failure\t\d+\tworker disconnected$/m);
    a.close();
  } finally {
    await second.stop();
  }
});
