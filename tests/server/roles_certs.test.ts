/**
 * Roles from client certificates over real TLS sockets (docs/security.md §4):
 * a mutual-TLS listener's `cert_roles` give each connection the roles
 * of the first item its certificate matches, capped by the listener's roles;
 * a certificate that matches nothing gets none. Certificates are made with
 * openssl at test time.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Cmd } from "../../src/protocol/commands.ts";
import { Logger } from "../../src/log/logger.ts";
import { createServer, type GearboxServer } from "../../src/server/server.ts";
import { type CertSet, makeCerts, makeClientCert } from "../helpers/certs.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { expectCreated, expectError, expectRes, nul } from "../helpers/scenario.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();
let certs: CertSet;
let app: { cert: string; key: string };
let nobody: { cert: string; key: string };
let boss: { cert: string; key: string };

function portOf(server: GearboxServer, i: number): number {
  return Number(server.addresses[i]!.split(":").pop());
}

function connectAs(port: number, id: { cert: string; key: string }): Promise<RawConn> {
  const pem = (f: string) => readFileSync(f);
  return RawConn.connectTls(port, { ca: pem(certs.ca), cert: pem(id.cert), key: pem(id.key) }).then((r) => r.conn);
}

describe("roles from client certificates", () => {
  let server: GearboxServer;
  let tlsPort: number;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    certs = makeCerts(tempDir("gearbox-roles-certs-"));
    app = makeClientCert(certs, "app", "app-1", "DNS:app.example");
    nobody = makeClientCert(certs, "nobody", "nobody");
    boss = makeClientCert(certs, "boss", "boss");
    server = createServer({
      store: "memory:",
      logger: new Logger({ level: "info", format: "json", write: (l) => logs.push(JSON.parse(l)) }),
      listeners: [
        { listen: "127.0.0.1:0" },
        {
          listen: "127.0.0.1:0",
          roles: ["client", "worker"],
          tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
          cert_roles: [
            { match: "CN=worker-*", roles: ["worker"] },
            { match: "DNS:*.example", roles: ["client"] },
            { match: "CN=boss", roles: ["admin", "client"] },
          ],
        },
      ],
    });
    await server.start();
    tlsPort = portOf(server, 1);
  });
  after(() => server.stop());

  test("the TLS listener is logged with tls and its mapping", () => {
    const row = logs.find((l) => l.msg === "listener" && l.tls === true);
    assert.ok(row, JSON.stringify(logs));
    assert.equal(row.cert_roles, 3);
  });

  test("a certificate mapped to worker may CAN_DO and grab, and may not submit", async () => {
    const w = await connectAs(tlsPort, { cert: certs.clientCert, key: certs.clientKey }); // CN worker-1
    try {
      w.sendPacket(Cmd.CAN_DO, "certs_f");
      w.sendPacket(Cmd.GRAB_JOB);
      await expectRes(w, Cmd.NO_JOB);
      w.sendPacket(Cmd.SUBMIT_JOB_BG, "certs_f", "", "x");
      await expectError(w, "PERMISSION_DENIED", "SUBMIT_JOB_BG needs the client role; this connection has worker");
    } finally {
      w.close();
    }
  });

  test("a certificate mapped to client by its alternative name may submit, and its CAN_DO is refused", async () => {
    const c = await connectAs(tlsPort, app);
    try {
      c.sendPacket(Cmd.CAN_DO, "certs_g");
      await expectError(c, "PERMISSION_DENIED", "CAN_DO needs the worker role; this connection has client");
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "certs_g", "", "x");
      await expectCreated(c);
    } finally {
      c.close();
    }
  });

  test("a certificate that matches nothing gets no role but may echo", async () => {
    const n = await connectAs(tlsPort, nobody);
    try {
      n.sendPacket(Cmd.ECHO_REQ, "hi");
      await expectRes(n, Cmd.ECHO_RES, nul("hi"));
      n.sendPacket(Cmd.SUBMIT_JOB_BG, "certs_h", "", "x");
      await expectError(n, "PERMISSION_DENIED", "SUBMIT_JOB_BG needs the client role; this connection has none");
    } finally {
      n.close();
    }
  });

  test("a certificate mapped to admin gets only what the listener allows: client, no admin line", async () => {
    const b = await connectAs(tlsPort, boss);
    try {
      assert.match(
        await b.adminLine("shutdown"),
        /^ERR PERMISSION_DENIED shutdown\+needs\+the\+admin\+role;\+this\+connection\+has\+client\r\n$/,
      );
      b.sendPacket(Cmd.SUBMIT_JOB_BG, "certs_b", "", "x");
      await expectCreated(b);
    } finally {
      b.close();
    }
  });

  test("SIGHUP's reload rereads the TLS listener's files; a server without TLS has none to reload", async () => {
    assert.equal(server.reloadTls(), true);
    const plain = createServer({ store: "memory:", port: 0, logLevel: "silent" });
    await plain.start();
    try {
      assert.equal(plain.reloadTls(), false);
    } finally {
      await plain.stop();
    }
  });
});

describe("a public listener with TLS", () => {
  test("starts without a warning and serves over TLS", async () => {
    const dirCerts = certs ?? makeCerts(tempDir("gearbox-roles-public-"));
    const logs: Record<string, unknown>[] = [];
    const server = createServer({
      store: "memory:",
      logger: new Logger({ level: "info", format: "json", write: (l) => logs.push(JSON.parse(l)) }),
      listeners: [{ listen: "0.0.0.0:0", tls: { cert: dirCerts.serverCert, key: dirCerts.serverKey } }],
    });
    await server.start();
    try {
      assert.deepEqual(logs.filter((l) => l.level === "warn"), []);
      const { conn } = await RawConn.connectTls(server.port, { ca: readFileSync(dirCerts.ca) });
      conn.sendPacket(Cmd.ECHO_REQ, "public");
      await expectRes(conn, Cmd.ECHO_RES, nul("public"));
      conn.close();
    } finally {
      await server.stop();
    }
  });
});
