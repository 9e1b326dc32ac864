/**
 * TLS on the job port (tls_cert, tls_key, tls_ca): Gearman packets over
 * node:tls sockets against an embedded server. With tls_ca every client
 * must present a certificate signed by that CA and valid now; nothing is
 * served in plaintext, nor to TLS 1.1.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { type CertSet, makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { withServer } from "../helpers/inproc.ts";

const tempDir = tempDirs();
let certs: CertSet;
before(() => {
  certs = makeCerts(tempDir("gearbox-tls-"));
});

const pem = (file: string) => readFileSync(file);
const mutual = () => ({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsCa: certs.ca });
const trusting = (extra: ConnectionOptions = {}): ConnectionOptions => ({ ca: pem(certs.ca), ...extra });
const asClient = (cert: string, key: string) => trusting({ cert: pem(cert), key: pem(key) });

/** `openssl s_client` offering one TLS version with the trusted client certificate: its exit code and stderr. */
function sClient(port: number, version: "-tls1_1" | "-tls1_2"): Promise<{ code: number; stderr: string }> {
  // SECLEVEL=0 lets Debian's openssl offer TLS 1.1 at all, so the refusal is the server's.
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, version, "-cipher", "DEFAULT@SECLEVEL=0", "-brief"];
  args.push("-CAfile", certs.ca, "-cert", certs.clientCert, "-key", certs.clientKey);
  return new Promise((resolve) => {
    const child = execFile("openssl", args, { timeout: 10_000 }, (err, _out, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stderr });
    });
    child.stdin?.end();
  });
}

/** The server gives this client nothing: the handshake fails, or the connection closes with no reply to an echo. */
async function refused(port: number, options: ConnectionOptions): Promise<void> {
  let conn: RawConn;
  try {
    ({ conn } = await RawConn.connectTls(port, options));
  } catch {
    return;
  }
  conn.sendPacket(Cmd.ECHO_REQ, "let me in");
  await conn.expectClosed(3000);
  assert.equal(conn.buffered.length, 0, "no byte of a Gearman reply");
}

describe("TLS on the job port", () => {
  test("a client whose certificate the CA signed is served: echo and a background submission", () =>
    withServer(mutual(), async (_server, port) => {
      const { conn, socket } = await RawConn.connectTls(port, asClient(certs.clientCert, certs.clientKey));
      assert.ok(["TLSv1.2", "TLSv1.3"].includes(socket.getProtocol() ?? ""), `protocol ${socket.getProtocol()}`);
      assert.equal(socket.getPeerCertificate().subject.CN, "gearbox-one");
      conn.sendPacket(Cmd.ECHO_REQ, "over tls");
      assert.equal((await conn.expectPacket(Cmd.ECHO_RES)).body.toString(), "over tls");
      conn.sendPacket(Cmd.SUBMIT_JOB_BG, "tls-fn", "", "payload");
      assert.match((await conn.expectPacket(Cmd.JOB_CREATED)).body.toString(), /^H:/);
      conn.close();
    }));

  test("a client without a certificate is refused when tls_ca is set", () =>
    withServer(mutual(), (_server, port) => refused(port, trusting())));

  test("a client whose certificate another CA signed is refused", () =>
    withServer(mutual(), (_server, port) => refused(port, asClient(certs.otherClientCert, certs.otherClientKey))));

  test("a client with an expired certificate from the trusted CA is refused", () =>
    withServer(mutual(), (_server, port) => refused(port, asClient(certs.expiredClientCert, certs.expiredClientKey))));

  test("without tls_ca a client with no certificate is served", () =>
    withServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey }, async (_server, port) => {
      const { conn } = await RawConn.connectTls(port, trusting());
      conn.sendPacket(Cmd.ECHO_REQ, "anyone");
      assert.equal((await conn.expectPacket(Cmd.ECHO_RES)).body.toString(), "anyone");
      conn.close();
    }));

  test("a TLS 1.1 client is refused at the handshake", () =>
    withServer(mutual(), async (_server, port) => {
      const options = asClient(certs.clientCert, certs.clientKey);
      await assert.rejects(RawConn.connectTls(port, { ...options, minVersion: "TLSv1", maxVersion: "TLSv1.1" }));
    }));

  test("openssl offering only TLS 1.1 gets a protocol version alert, while the same client offering TLS 1.2 connects", () =>
    withServer(mutual(), async (_server, port) => {
      const old = await sClient(port, "-tls1_1");
      assert.notEqual(old.code, 0, old.stderr);
      assert.match(old.stderr, /protocol version/, old.stderr);
      const good = await sClient(port, "-tls1_2");
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stderr, /Protocol version: TLSv1\.2/, good.stderr);
    }));

  test("plaintext admin and SUBMIT_JOB bytes on the TLS port get no reply and the connection closes", () =>
    withServer(mutual(), async (server, port) => {
      const c = await RawConn.connect(port);
      c.send("status\n");
      c.sendPacket(Cmd.SUBMIT_JOB, "plain-fn", "", "data");
      await c.expectClosed(3000);
      const got = c.buffered.toString("latin1");
      assert.ok(!got.includes("\0RES") && !got.includes("OK") && !got.includes("."), `got ${JSON.stringify(got)}`);
      assert.equal(server.core.view.jobs.size, 0, "no job was submitted");
    }));
});
