import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { certRoles, ROLES } from "../../src/config/cert_roles.ts";
import { settingsFromFile } from "../../src/config/load_config.ts";
import { checkExposure, isLoopback, parseListeners, parseListenerSpec, plannedListeners } from "../../src/config/serve_listeners.ts";
import { ROLE_NAMES } from "../../src/core/roles.ts";

const ALL = ["client", "worker", "admin-read", "admin"];

function refused(doc: unknown, message: RegExp): void {
  assert.throws(() => settingsFromFile(doc, "g.yaml"), (e: Error & { code?: string }) => {
    assert.equal(e.code, "INVALID_CONFIG");
    assert.match(e.message, message);
    return true;
  });
}

describe("config: listeners", () => {
  test("the config's role names are the core's", () => {
    assert.deepEqual([...ROLES], [...ROLE_NAMES]);
  });

  test("an item gets every role, no TLS and not insecure unless it says so", () => {
    const s = settingsFromFile({
      listeners: [{ listen: "127.0.0.1:4730" }, { listen: "[::]:4731", roles: ["client", "worker"], tls: true }],
    }, "g.yaml");
    assert.deepEqual(s.listeners, [
      { listen: "127.0.0.1:4730", roles: ALL, insecure: false, cert_roles: [] },
      { listen: "[::]:4731", roles: ["client", "worker"], tls: true, insecure: false, cert_roles: [] },
    ]);
    assert.deepEqual(parseListeners(s.listeners, "again"), s.listeners, "checking a checked list changes nothing");
  });

  test("every bad item is refused naming its index, key and value", () => {
    refused({ listeners: {} }, /g\.yaml: listeners must be a list/);
    refused({ listeners: ["x"] }, /listeners\[0\]: must be a mapping/);
    refused({ listeners: [{ listen: "4730" }] }, /listeners\[0\]\.listen: "4730" is not HOST:PORT/);
    refused({ listeners: [{ listen: "h:70000" }] }, /listeners\[0\]\.listen: "h:70000" is not HOST:PORT/);
    refused({ listeners: [{ listen: "h:1", roles: ["client", "root"] }] }, /listeners\[0\]\.roles: unknown role "root"/);
    refused({ listeners: [{ listen: "h:1", roles: [] }] }, /listeners\[0\]\.roles: must be a non-empty list/);
    refused({ listeners: [{ listen: "h:1", insecure: "yes" }] }, /listeners\[0\]\.insecure: must be true or false/);
    refused({ listeners: [{ listen: "h:1", port: 3 }] }, /listeners\[0\]: unknown key "port"/);
    refused({ listeners: [{ listen: "h:1", tls: { cert: "c.pem" } }] }, /listeners\[0\]\.tls: needs both cert and key/);
    refused({ listeners: [{ listen: "h:1", tls: { cert: "c", key: "k", pass: "x" } }] }, /listeners\[0\]\.tls: unknown key "pass"/);
    refused(
      { listeners: [{ listen: "h:1", tls: { cert: "c", key: "k" }, cert_roles: [{ match: "CN=w", roles: ["worker"] }] }] },
      /listeners\[0\]\.cert_roles: needs client certificates/,
    );
    refused(
      { listeners: [{ listen: "h:1", tls: { cert: "c", key: "k", ca: "a" }, cert_roles: [{ match: "worker", roles: ["worker"] }] }] },
      /listeners\[0\]\.cert_roles\[0\]\.match: "worker" is neither a subject attribute/,
    );
    refused(
      { listeners: [{ listen: "h:1" }, { listen: "h:2" }, { listen: "H:1" }] },
      /listeners\[2\]: H:1 is already listeners\[0\]'s address/,
    );
  });

  test("two listeners on port 0 of one address are not duplicates", () => {
    assert.equal(parseListeners([{ listen: "127.0.0.1:0" }, { listen: "127.0.0.1:0" }], "x").length, 2);
  });

  test("a --listener spec reads address, roles, tls and insecure, and refuses an unknown option", () => {
    assert.deepEqual(parseListenerSpec("0.0.0.0:4731,roles=client+worker,tls,insecure"), {
      listen: "0.0.0.0:4731",
      roles: ["client", "worker"],
      tls: true,
      insecure: true,
      cert_roles: [],
    });
    assert.throws(() => parseListenerSpec("0.0.0.0:4731,tsl"), /--listener 0\.0\.0\.0:4731,tsl: unknown option "tsl"/);
    assert.throws(() => parseListenerSpec("0.0.0.0:4731,roles=boss"), /--listener 0\.0\.0\.0:4731,roles=boss\.roles: unknown role "boss"/);
  });

  test("without listeners the server has one: listen and port with every role", () => {
    const plan = plannedListeners({ listen: "::1", port: 4730, insecure: false, listeners: [] }, undefined);
    assert.deepEqual(plan, [{ listen: "[::1]:4730", roles: ALL, insecure: false, cert_roles: [] }]);
    const top = { cert: "s.pem", key: "s.key" };
    assert.deepEqual(plannedListeners({ listen: "0.0.0.0", port: 1, insecure: false, listeners: [] }, top)[0]!.tls, top);
  });

  test("a tls: true listener takes the top-level files, and is refused without them", () => {
    const settings = {
      listen: "127.0.0.1",
      port: 1,
      insecure: false,
      listeners: parseListeners([{ listen: "127.0.0.1:0" }, {
        listen: "0.0.0.0:4731",
        tls: true,
        cert_roles: [{ match: "CN=w", roles: ["worker"] }],
      }], "x"),
    };
    assert.throws(
      () => plannedListeners(settings, undefined),
      /listeners\[1\] \(0\.0\.0\.0:4731\): tls: true needs the top-level tls_cert and tls_key/,
    );
    assert.throws(() => plannedListeners(settings, { cert: "c", key: "k" }), /listeners\[1\] \(0\.0\.0\.0:4731\): cert_roles needs tls_ca/);
    const planned = plannedListeners(settings, { cert: "c", key: "k", ca: "a" });
    assert.deepEqual(planned[1]!.tls, { cert: "c", key: "k", ca: "a" });
    assert.equal(planned[0]!.tls, undefined);
  });
});

describe("config: no accidental exposure", () => {
  test("loopback is 127.0.0.0/8, ::1 and localhost; 0.0.0.0, :: and other addresses are public", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"]) assert.ok(isLoopback(h), h);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", "128.0.0.1", "::2"]) assert.ok(!isLoopback(h), h);
  });

  test("a public listener without TLS is refused with a how-to; insecure gives a warning; TLS or loopback gives none", () => {
    const item = (listen: string, extra: object = {}) => parseListeners([{ listen, ...extra }], "x")[0]!;
    assert.throws(() => checkExposure([item("127.0.0.1:1"), item("0.0.0.0:4730")]), (e: Error) => {
      assert.match(e.message, /^0\.0\.0\.0:4730 is reachable from other hosts and has no TLS/);
      assert.match(e.message, /--tls-cert FILE --tls-key FILE/);
      assert.match(e.message, /--listen 127\.0\.0\.1/);
      assert.match(e.message, /--insecure/);
      return true;
    });
    assert.deepEqual(checkExposure([item("127.0.0.1:1"), item("[::1]:2"), item("0.0.0.0:3", { tls: true })]), []);
    const warnings = checkExposure([item("10.1.2.3:4730", { insecure: true })]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /10\.1\.2\.3:4730 accepts plaintext connections from other hosts/);
  });
});

describe("config: roles from a client certificate", () => {
  const mapping = parseListeners([{
    listen: "h:1",
    tls: true,
    cert_roles: [
      { match: "CN=worker-*", roles: ["worker"] },
      { match: "DNS:*.clients.example", roles: ["client"] },
      { match: "email:ops@example.com", roles: ["admin"] },
      { match: "O=Acme", roles: ["client", "worker"] },
    ],
  }], "x")[0]!.cert_roles;
  const id = (subject: Record<string, string>, altNames: string[] = [], authorized = true) => ({ authorized, subject, altNames });

  test("the first item that matches the subject or an alternative name gives its roles", () => {
    assert.deepEqual(certRoles(mapping, id({ CN: "worker-7", O: "Acme" })), ["worker"]);
    assert.deepEqual(certRoles(mapping, id({ CN: "web" }, ["DNS:a.clients.example"])), ["client"]);
    assert.deepEqual(certRoles(mapping, id({ CN: "x" }, ["email:ops@example.com"])), ["admin"]);
    assert.deepEqual(certRoles(mapping, id({ CN: "x", O: "Acme" })), ["client", "worker"]);
  });

  test("a certificate that matches nothing, or is not verified, gets no role", () => {
    assert.deepEqual(certRoles(mapping, id({ CN: "worker" })), [], "worker-* needs the dash");
    assert.deepEqual(certRoles(mapping, id({ CN: "x" }, ["DNS:clients.example"])), []);
    assert.deepEqual(certRoles(mapping, id({ CN: "worker-1" }, [], false)), []);
    assert.deepEqual(certRoles(mapping, undefined), []);
  });
});
