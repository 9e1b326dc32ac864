/**
 * Listeners with roles over real sockets (docs/security.md): each listener
 * gives its connections its roles, a refused request gets ERROR or
 * ERR PERMISSION_DENIED, is counted, and the connection goes on.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Cmd } from "../../src/protocol/commands.ts";
import { createServer, type GearboxServer } from "../../src/server/server.ts";
import { Logger } from "../../src/log/logger.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { expectCreated, expectError, expectRes, listLines, nul, sync } from "../helpers/scenario.ts";

const DENIED = /^ERR PERMISSION_DENIED \S+\r\n$/;

function portOf(server: GearboxServer, i: number): number {
  return Number(server.addresses[i]!.split(":").pop());
}

async function counter(admin: RawConn, name: string): Promise<number> {
  const row = listLines(await admin.adminList("counters")).find((l) => l.startsWith(name + "\t"));
  return row ? Number(row.split("\t")[1]) : 0;
}

describe("listeners with roles", () => {
  let server: GearboxServer;
  const logs: Record<string, unknown>[] = [];
  let all: number, clientOnly: number, workerOnly: number, readOnly: number;

  before(async () => {
    server = createServer({
      store: "memory:",
      logger: new Logger({ level: "info", format: "json", write: (l) => logs.push(JSON.parse(l)) }),
      listeners: [
        { listen: "127.0.0.1:0" },
        { listen: "127.0.0.1:0", roles: ["client"] },
        { listen: "127.0.0.1:0", roles: ["worker"] },
        { listen: "127.0.0.1:0", roles: ["admin-read"] },
      ],
    });
    await server.start();
    [all, clientOnly, workerOnly, readOnly] = [0, 1, 2, 3].map((i) => portOf(server, i)) as [number, number, number, number];
  });
  after(() => server.stop());

  test("each listener is logged at start with its address and roles", () => {
    const rows = logs.filter((l) => l.msg === "listener" || l.message === "listener");
    assert.equal(rows.length, 4, JSON.stringify(logs));
    assert.equal(rows[1]!.roles, "client");
    assert.equal(rows[1]!.address, `127.0.0.1:${clientOnly}`);
    assert.equal(rows[0]!.roles, "client,worker,admin-read,admin");
  });

  test("a client-only listener refuses CAN_DO, shutdown and status with PERMISSION_DENIED, counts each, and SUBMIT_JOB on the same connection still works", async () => {
    const admin = await RawConn.connect(all);
    const c = await RawConn.connect(clientOnly);
    try {
      const before = await counter(admin, "permission_denied");
      c.sendPacket(Cmd.CAN_DO, "roles_f");
      await expectError(c, "PERMISSION_DENIED", "CAN_DO needs the worker role; this connection has client");
      assert.equal(await counter(admin, "permission_denied"), before + 1);
      assert.equal(listLines(await admin.adminList("status")).find((l) => l.startsWith("roles_f\t")), undefined, "no function record");
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "roles_f", "", "x");
      await expectCreated(c);
      assert.equal(await c.adminLine("shutdown"), "ERR PERMISSION_DENIED shutdown+needs+the+admin+role;+this+connection+has+client\r\n");
      assert.match(await c.adminLine("status"), DENIED);
      assert.equal(await counter(admin, "permission_denied"), before + 3);
      c.sendPacket(Cmd.ECHO_REQ, "still served");
      await expectRes(c, Cmd.ECHO_RES, nul("still served"));
    } finally {
      c.close();
      admin.close();
    }
  });

  test("a worker-only listener refuses SUBMIT_JOB and an admin line, and its worker may still register and grab", async () => {
    const w = await RawConn.connect(workerOnly);
    try {
      w.sendPacket(Cmd.SUBMIT_JOB, "roles_w", "", "x");
      await expectError(w, "PERMISSION_DENIED", "SUBMIT_JOB needs the client role; this connection has worker");
      assert.match(await w.adminLine("status"), DENIED);
      w.sendPacket(Cmd.CAN_DO, "roles_w");
      w.sendPacket(Cmd.GRAB_JOB);
      await expectRes(w, Cmd.NO_JOB);
    } finally {
      w.close();
    }
  });

  test("an admin-read listener answers status but refuses every destructive command, and nothing changes", async () => {
    const c = await RawConn.connect(all);
    const r = await RawConn.connect(readOnly);
    try {
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "roles_a", "", "x");
      const handle = await expectCreated(c);
      const status = await r.adminList("status");
      assert.ok(listLines(status).includes("roles_a\t1\t0\t0"), status);
      const before = await counter(c, "permission_denied");
      const lines = [
        "shutdown",
        `cancel job ${handle}`,
        "drop function roles_a",
        "job purge roles_a",
        "store backup b1",
        "maxqueue roles_a 1",
      ];
      for (const line of lines) assert.match(await r.adminLine(line), DENIED, line);
      assert.equal(await counter(c, "permission_denied"), before + lines.length);
      assert.equal(await r.adminList("status"), status, "the job is still queued");
      c.sendPacket(Cmd.ECHO_REQ, "alive");
      await expectRes(c, Cmd.ECHO_RES, nul("alive"));
      await sync(r);
    } finally {
      c.close();
      r.close();
    }
  });
});

describe("listeners: exposure and bad configs", () => {
  test("createServer refuses a public listener without TLS, naming it and how to do it safely", () => {
    assert.throws(
      () => createServer({ store: "memory:", listeners: [{ listen: "0.0.0.0:0" }] }),
      (e: Error & { code?: string }) =>
        e.code === "INVALID_CONFIG" && /0\.0\.0\.0:0 is reachable/.test(e.message) && /--insecure/.test(e.message),
    );
    assert.throws(() => createServer({ store: "memory:", listen: "::" }), /\[::\]:4730 is reachable/);
  });

  test("an insecure public listener starts and is warned about at start", async () => {
    const logs: Record<string, unknown>[] = [];
    const server = createServer({
      store: "memory:",
      logger: new Logger({ level: "info", format: "json", write: (l) => logs.push(JSON.parse(l)) }),
      listeners: [{ listen: "0.0.0.0:0", roles: ["client", "worker"], insecure: true }],
    });
    await server.start();
    try {
      const warn = logs.find((l) => l.level === "warn");
      assert.ok(warn, JSON.stringify(logs));
      assert.match(JSON.stringify(warn), /0\.0\.0\.0:0 accepts plaintext connections from other hosts/);
      const c = await RawConn.connect(server.port);
      c.sendPacket(Cmd.ECHO_REQ, "e");
      await expectRes(c, Cmd.ECHO_RES, nul("e"));
      c.close();
    } finally {
      await server.stop();
    }
  });

  test("a second listener that cannot bind closes the first and start fails", async () => {
    const first = createServer({ store: "memory:", port: 0, logLevel: "silent" });
    await first.start();
    try {
      const server = createServer({ store: "memory:", listeners: [{ listen: "127.0.0.1:0" }, { listen: `127.0.0.1:${first.port}` }] });
      await assert.rejects(server.start(), (e: NodeJS.ErrnoException) => e.code === "EADDRINUSE");
      assert.deepEqual(server.addresses, []);
    } finally {
      await first.stop();
    }
  });
});

describe("listeners and the node id", () => {
  test("without node_id, a server with listeners is named after its first listener's port, not the unused port setting", () => {
    const server = createServer({ store: "memory:", listeners: [{ listen: "127.0.0.1:4999" }, { listen: "127.0.0.1:5000" }] });
    assert.match(server.node, /:4999$/);
    assert.match(createServer({ store: "memory:", port: 4998 }).node, /:4998$/);
  });
});

describe("listeners after a stop", () => {
  test("a stopped server still names the port and addresses it listened on (a restart on the same port needs them)", async () => {
    const server = createServer({
      store: "memory:",
      logLevel: "silent",
      listeners: [{ listen: "127.0.0.1:0" }, { listen: "127.0.0.1:0" }],
    });
    await server.start();
    const [port, addresses] = [server.port, server.addresses];
    assert.ok(port > 0);
    await server.stop();
    assert.equal(server.port, port);
    assert.deepEqual(server.addresses, addresses);
  });
});
