/**
 * The transport port's TLS surface (src/runtime/net.ts), which roles and
 * several listeners build on: `tls` and `onSecure` on a connection (the
 * client certificate's identity, once, after the handshake; never for
 * plaintext) and `reloadTls` on the listener (a rejected PEM throws and the
 * old certificate stays).
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { listen, type NetSocket, type PeerIdentity } from "../../src/runtime/net.ts";
import { readTlsFiles } from "../../src/runtime/tls_files.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { type CertSet, makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { waitUntil } from "../helpers/wait.ts";

const tempDir = tempDirs();
let certs: CertSet;
before(() => {
  certs = makeCerts(tempDir("gearbox-tls-transport-"));
});

/** A listener that records each connection and what onSecure said, echoing bytes back. */
async function recording(tls: boolean, transport: "auto" | "node" = "auto") {
  const seen: { socket: NetSocket; peers: (PeerIdentity | undefined)[] }[] = [];
  const config = tls ? readTlsFiles({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca }) : undefined;
  const listener = await listen({ host: "127.0.0.1", port: 0, tls: config, transport }, (socket) => {
    const entry = { socket, peers: [] as (PeerIdentity | undefined)[] };
    seen.push(entry);
    socket.onSecure((peer) => entry.peers.push(peer));
    socket.onData((chunk) => socket.write(chunk));
  });
  return { listener, seen };
}

const client = () => ({ ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) });

describe("the transport's TLS surface", () => {
  // auto: Bun.listen's own TLS under bun test (net_bun_tls.ts); node: node:tls (net_tls.ts), as on Deno.
  for (const transport of ["auto", "node"] as const) {
    test(`onSecure gives the client certificate's subject once, after the handshake, on a connection marked tls (transport ${transport})`, async () => {
      const { listener, seen } = await recording(true, transport);
      try {
        const { conn } = await RawConn.connectTls(listener.port, client());
        conn.send("ping");
        assert.equal(await conn.readBytes(4), "ping");
        assert.equal(seen.length, 1);
        assert.equal(seen[0]!.socket.tls, true);
        assert.equal(seen[0]!.peers.length, 1);
        const peer = seen[0]!.peers[0]!;
        assert.equal(peer.authorized, true);
        assert.equal(peer.subject.CN, "worker-1");
        conn.close();
      } finally {
        await listener.close();
      }
    });
  }

  test("a plaintext connection is not marked tls and onSecure is never called", async () => {
    const { listener, seen } = await recording(false);
    try {
      const conn = await RawConn.connect(listener.port);
      conn.send("ping");
      assert.equal(await conn.readBytes(4), "ping");
      assert.equal(seen[0]!.socket.tls, false);
      assert.deepEqual(seen[0]!.peers, []);
      assert.equal(listener.reloadTls, undefined);
      conn.close();
    } finally {
      await listener.close();
    }
  });

  for (const transport of ["auto", "node"] as const) {
    test(`reloadTls with a key that is not the certificate's throws and the old certificate is still served, then a good one is (transport ${transport})`, async () => {
      const { listener } = await recording(true, transport);
      try {
        const bad = {
          cert: readFileSync(certs.server2Cert, "utf8"),
          key: readFileSync(certs.serverKey, "utf8"),
          ca: readFileSync(certs.ca, "utf8"),
        };
        assert.throws(() => listener.reloadTls!(bad));
        const { conn, socket } = await RawConn.connectTls(listener.port, client());
        assert.equal(socket.getPeerCertificate().subject.CN, "gearbox-one");
        conn.close();
        listener.reloadTls!(readTlsFiles({ cert: certs.server2Cert, key: certs.server2Key, ca: certs.ca }));
        await waitUntil("the new certificate is served", async () => {
          const r = await RawConn.connectTls(listener.port, client());
          const cn = r.socket.getPeerCertificate().subject.CN;
          r.conn.close();
          return cn === "gearbox-two" || String(cn);
        });
      } finally {
        await listener.close();
      }
    });

    // On Bun the listener is stopped before the new certificate is bound; a PEM only the TLS library rejects exercises the way back.
    test(`reloadTls with a CA block the TLS library cannot parse throws and the old certificate is still served on the same port (transport ${transport})`, async () => {
      const { listener } = await recording(true, transport);
      try {
        const badCa = {
          cert: readFileSync(certs.server2Cert, "utf8"),
          key: readFileSync(certs.server2Key, "utf8"),
          ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        };
        assert.throws(() => listener.reloadTls!(badCa));
        const { conn, socket } = await RawConn.connectTls(listener.port, client());
        assert.equal(socket.getPeerCertificate().subject.CN, "gearbox-one");
        conn.send("ping");
        assert.equal(await conn.readBytes(4), "ping");
        conn.close();
      } finally {
        await listener.close();
      }
    });
  }
});
