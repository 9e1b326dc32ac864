/**
 * SIGHUP rereads the TLS files of a running `gearbox serve`: new
 * connections get the new certificate while an open one keeps working; a
 * broken file is refused, the old certificate stays, and the log says which
 * file and why.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { type CertSet, makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { type RunningServer, startGearbox } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";

const tempDir = tempDirs();
let certs: CertSet;
let server: RunningServer | undefined;
let cert: string;
let key: string;

before(() => {
  certs = makeCerts(tempDir("gearbox-tls-reload-"));
  cert = join(certs.dir, "live.pem");
  key = join(certs.dir, "live.key");
  copyFileSync(certs.serverCert, cert);
  copyFileSync(certs.serverKey, key);
});
after(() => server?.stop());

function client(): ConnectionOptions {
  return { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
}

/** The CN of the certificate a new connection is shown. */
async function servedCn(port: number): Promise<string> {
  const { conn, socket } = await RawConn.connectTls(port, client());
  const cn = String(socket.getPeerCertificate().subject.CN);
  conn.close();
  return cn;
}

async function echo(conn: RawConn, text: string): Promise<void> {
  conn.sendPacket(Cmd.ECHO_REQ, text);
  assert.equal((await conn.expectPacket(Cmd.ECHO_RES)).body.toString(), text);
}

describe("TLS reload on SIGHUP", () => {
  test("new connections get the new certificate and an open connection keeps working; a broken file keeps the old one and is logged", async () => {
    server = await startGearbox({ extra: ["--tls-cert", cert, "--tls-key", key, "--tls-ca", certs.ca] });
    assert.equal(await servedCn(server.port), "gearbox-one");
    const { conn: open } = await RawConn.connectTls(server.port, client());
    await echo(open, "before");

    copyFileSync(certs.server2Cert, cert);
    copyFileSync(certs.server2Key, key);
    process.kill(server.pid, "SIGHUP");
    await waitUntil("a new connection sees the new certificate", async () => (await servedCn(server!.port)) === "gearbox-two");
    await echo(open, "after reload");

    writeFileSync(cert, "not a certificate\n");
    process.kill(server.pid, "SIGHUP");
    await waitUntil("the refused reload is logged", () => server!.stderr().includes("TLS reload refused") || server!.stderr());
    assert.ok(server.stderr().includes(cert), `the log names ${cert}: ${server.stderr()}`);
    assert.match(server.stderr(), /not PEM/);
    assert.equal(await servedCn(server.port), "gearbox-two", "the old certificate is still served");
    await echo(open, "after a refused reload");
    open.close();
    assert.equal(await server.stop(), 0);
  });
});
