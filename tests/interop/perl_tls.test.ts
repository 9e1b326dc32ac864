/**
 * Perl's Gearman::Client and Gearman::Worker (2.004, with IO::Socket::SSL)
 * against gearbox over mutual TLS: the job server given as a hash with
 * use_ssl, ca_file, cert_file and key_file. A worker registers, a client's
 * do_task gets the result, and a background job runs.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { RawConn } from "../helpers/raw_conn.ts";
import { type CertSet, makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { type RunningServer, startGearbox } from "../helpers/servers.ts";
import { MISSING, Peers, skipIf } from "../helpers/peers.ts";
import { waitUntil } from "../helpers/wait.ts";

const T = { timeout: 30_000 };
const haveSsl = spawnSync("perl", ["-MIO::Socket::SSL", "-e", "1"], { stdio: "ignore" }).status === 0;
const skip = skipIf(MISSING.perl, !haveSsl && "Perl's IO::Socket::SSL (libio-socket-ssl-perl) is not installed");

const tempDir = tempDirs();
const peers = new Peers();
let certs: CertSet;
let server: RunningServer | undefined;

before(async () => {
  if (skip) return;
  certs = makeCerts(tempDir("gearbox-perl-tls-"));
  server = await startGearbox({ extra: ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.ca] });
});
after(async () => {
  await peers.killAll();
  await server?.stop();
});

const tls = () => ({ ca_file: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey });

/** The admin `status` line of `func` (total, running, workers), asked over TLS. */
async function status(func: string): Promise<string> {
  const { conn } = await RawConn.connectTls(server!.port, {
    ca: readFileSync(certs.ca),
    cert: readFileSync(certs.clientCert),
    key: readFileSync(certs.clientKey),
  });
  try {
    const line = (await conn.adminList("status")).split("\n").find((l) => l.startsWith(`${func}\t`));
    return line?.split("\t").slice(1).join("/") ?? "0/0/0";
  } finally {
    conn.close();
  }
}

describe("Perl Gearman::Client and Gearman::Worker over mutual TLS", () => {
  test("a Perl worker registers over TLS and a Perl client's do_task gets its result", { ...T, skip }, async () => {
    const w = peers.perl("worker.pl", server!.port, { functions: { tls_rev: "reverse" }, count: 1, timeout: 20, tls: tls() });
    await waitUntil("the worker is registered", async () => (await status("tls_rev")) === "0/0/1" || status("tls_rev"), 15_000);
    const r = await peers.perl("client.pl", server!.port, { op: "do", func: "tls_rev", data: "over tls", timeout: 10, tls: tls() }).result(
      15_000,
    );
    assert.equal(r.outcome, "complete");
    assert.equal(r.result, "slt revo");
    await w.ok();
  });

  test("a Perl client's background job is run by a Perl worker over TLS", { ...T, skip }, async () => {
    const bg = await peers.perl("client.pl", server!.port, { op: "bg", func: "tls_bg", data: "later", timeout: 10, tls: tls() }).result(
      15_000,
    );
    assert.match(String(bg.handle), /\/\/H:/);
    await waitUntil("the job is queued", async () => (await status("tls_bg")) === "1/0/0" || status("tls_bg"));
    const w = peers.perl("worker.pl", server!.port, { functions: { tls_bg: "echo" }, count: 1, timeout: 20, tls: tls() });
    const job = await w.waitForJson((v) => v.job === 1);
    assert.equal(Buffer.from(String(job.arg_hex), "hex").toString(), "later");
    await w.ok();
    await waitUntil("the job is done", async () => (await status("tls_bg")) === "0/0/0" || status("tls_bg"));
  });

  test("a Perl client without a certificate gets nothing from the mutual-TLS port", { ...T, skip }, async () => {
    const r = await peers.perl("client.pl", server!.port, {
      op: "do",
      func: "tls_rev",
      data: "x",
      timeout: 5,
      tls: { ca_file: certs.ca },
    }).result(15_000).catch((e: Error) => ({ outcome: `failed: ${e.message}` }));
    assert.notEqual(r.outcome, "complete");
  });
});
