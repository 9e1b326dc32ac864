/**
 * The library over TLS (issue 15): Client, Worker and AdminClient reach a
 * gearbox through `tls://` servers or the `tls` option, check the server's
 * certificate and name by default, and present a client certificate to a
 * server that requires one. Certificates are made with openssl at test time.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AdminClient, Client, ClientError, createServer, type TlsOptions, Worker } from "../../mod.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { makePki, startTlsGearbox, type TestPki, type TlsGearbox } from "../helpers/tls_server.ts";

const tempDir = tempDirs();
let pki: TestPki;
before(() => {
  pki = makePki(tempDir("gearbox-tls-lib-"));
});

/** Runs a worker for `fn` (reversing its workload) while `body` runs. */
async function withWorker(options: ConstructorParameters<typeof Worker>[0], fn: string, body: () => Promise<void>): Promise<void> {
  const worker = new Worker({ reconnectMinMs: 20, reconnectMaxMs: 200, ...options });
  worker.register(fn, (job) => [...String(job.data)].reverse().join(""));
  const working = worker.work();
  try {
    await body();
  } finally {
    await worker.stop();
    await working;
  }
}

/** The error a client meets submitting to `servers` with `tls`. */
async function submitError(servers: string[], tls?: TlsOptions): Promise<ClientError> {
  const client = new Client({ servers, tls, maxConnectionAttempts: 1, connectTimeoutMs: 3000 });
  try {
    await client.submitJob("never_runs", "x", { timeoutMs: 3000 });
  } catch (e) {
    assert.ok(e instanceof ClientError, String(e));
    return e;
  } finally {
    client.close();
  }
  assert.fail("the submission succeeded");
}

describe("tls:// server addresses", () => {
  test("parse to TLS addresses whose key keeps the scheme, with port 4730 by default and IPv6 in brackets", () => {
    const client = new Client({ servers: ["tls://jobs.example", "tls://[::1]:4731", "127.0.0.1:4732"] });
    try {
      assert.deepEqual(client.servers, ["tls://jobs.example:4730", "tls://[::1]:4731", "127.0.0.1:4732"]);
    } finally {
      client.close();
    }
  });

  test("another scheme is refused naming the address", () => {
    assert.throws(() => new Client({ servers: ["ssl://127.0.0.1:4730"] }), /bad server address "ssl:\/\/127\.0\.0\.1:4730"/);
  });
});

describe("a gearbox behind TLS with a certificate for localhost and 127.0.0.1", () => {
  let gb: TlsGearbox;
  before(async () => {
    gb = await startTlsGearbox(pki.server);
  });
  after(() => gb.stop());

  test("a Client and a Worker given tls:// servers and the CA file complete a job", async () => {
    const servers = [`tls://127.0.0.1:${gb.port}`];
    await withWorker({ servers, tls: { caFile: pki.ca.certFile } }, "tls_reverse", async () => {
      const client = new Client({ servers, tls: { caFile: pki.ca.certFile } });
      try {
        const req = await client.submitJob("tls_reverse", "hello", { timeoutMs: 10_000 });
        assert.equal(req.state, "COMPLETE");
        assert.equal(req.result, "olleh");
        assert.deepEqual(client.servers, [`tls://127.0.0.1:${gb.port}`]);
      } finally {
        client.close();
      }
    });
  });

  test("the tls option makes a host:port server TLS too, and the name localhost is checked as well", async () => {
    const servers = [`localhost:${gb.port}`];
    await withWorker({ servers, tls: { ca: pki.ca.cert } }, "tls_plain_spec", async () => {
      const client = new Client({ servers, tls: { ca: pki.ca.cert } });
      try {
        assert.deepEqual(client.servers, [`tls://localhost:${gb.port}`]);
        const req = await client.submitJob("tls_plain_spec", "abc", { timeoutMs: 10_000 });
        assert.equal(req.result, "cba");
      } finally {
        client.close();
      }
    });
  });

  test("an AdminClient reads the status over TLS", async () => {
    const admin = new AdminClient({ server: `tls://127.0.0.1:${gb.port}`, tls: { caFile: pki.ca.certFile } });
    try {
      assert.ok(Array.isArray(await admin.status()));
      assert.equal(admin.server, `tls://127.0.0.1:${gb.port}`);
    } finally {
      admin.close();
    }
  });

  test("a server certificate from a CA the client was not given is refused as not trusted", async () => {
    const e = await submitError([`tls://127.0.0.1:${gb.port}`], { caFile: pki.otherCa.certFile });
    assert.equal(e.code, "UNREACHABLE");
    assert.match(e.message, /tls:\/\/127\.0\.0\.1:\d+: the server's TLS certificate is not trusted/);
  });

  test("without a CA the system's roots are used, which do not trust a test CA", async () => {
    const e = await submitError([`tls://127.0.0.1:${gb.port}`]);
    assert.match(e.message, /not trusted/);
  });

  test("a TLS client meeting a plaintext gearbox says the handshake failed", async () => {
    const plain = createServer({ port: 0, listen: "127.0.0.1", store: "memory:", logLevel: "silent" });
    await plain.start();
    try {
      const e = await submitError([`tls://127.0.0.1:${plain.port}`], { ca: pki.ca.cert });
      assert.match(e.message, /tls:\/\/127\.0\.0\.1:\d+: (TLS handshake failed|connection reset)/);
    } finally {
      await plain.stop();
    }
  });

  test("a CA file that does not exist is refused when the client is made, naming the file", () => {
    const missing = `${tempDir("gearbox-tls-missing-")}/nope.pem`;
    assert.throws(
      () => new Client({ servers: [`tls://127.0.0.1:${gb.port}`], tls: { caFile: missing } }),
      (e: unknown) =>
        e instanceof ClientError && e.code === "INVALID_ARGUMENT" && e.message.includes(missing) && /no such file/.test(e.message),
    );
  });

  test("a certificate without its key is refused when the worker is made", () => {
    assert.throws(() => new Worker({ tls: { certFile: pki.client.certFile } }), /cert and key together/);
  });
});

describe("a gearbox behind TLS whose certificate is for other.example only", () => {
  let gb: TlsGearbox;
  before(async () => {
    gb = await startTlsGearbox(pki.wrongName);
  });
  after(() => gb.stop());

  test("dialing 127.0.0.1 is refused with a message naming the name that was checked", async () => {
    const e = await submitError([`tls://127.0.0.1:${gb.port}`], { caFile: pki.ca.certFile });
    assert.match(e.message, /not for the name "127\.0\.0\.1"/);
  });

  test("servername other.example makes the same certificate acceptable", async () => {
    const tls = { caFile: pki.ca.certFile, servername: "other.example" };
    const servers = [`tls://127.0.0.1:${gb.port}`];
    await withWorker({ servers, tls }, "tls_servername", async () => {
      const client = new Client({ servers, tls });
      try {
        assert.equal((await client.submitJob("tls_servername", "xy", { timeoutMs: 10_000 })).result, "yx");
      } finally {
        client.close();
      }
    });
  });
});

describe("a gearbox behind TLS that requires a client certificate (mutual TLS)", () => {
  let gb: TlsGearbox;
  before(async () => {
    gb = await startTlsGearbox(pki.server, pki.ca);
  });
  after(() => gb.stop());

  test("a Client and a Worker presenting a certificate the server trusts complete a job", async () => {
    const tls = { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile };
    const servers = [`tls://127.0.0.1:${gb.port}`];
    await withWorker({ servers, tls }, "tls_mutual", async () => {
      const client = new Client({ servers, tls });
      try {
        assert.equal((await client.submitJob("tls_mutual", "mutual", { timeoutMs: 10_000 })).result, "lautum");
      } finally {
        client.close();
      }
    });
  });

  test("a client without a certificate is refused with a message saying one is required", async () => {
    const e = await submitError([`tls://127.0.0.1:${gb.port}`], { caFile: pki.ca.certFile });
    assert.match(e.message, /requires a client certificate/);
  });
});
