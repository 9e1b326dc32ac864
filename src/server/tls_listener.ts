/**
 * A listener's TLS files: checked at start (cert without key, or a CA
 * without either, is a configuration error; a bad file a TlsFileError naming
 * it), and reread on reload (SIGHUP): a good set is swapped in for new
 * connections while open ones keep theirs; a bad one leaves the old in
 * effect and is logged, naming the file. One per listener.
 *
 * @module
 */
import { ConfigError } from "../config/setting.ts";
import type { Logger } from "../log/logger.ts";
import type { NetListener, TlsServerConfig } from "../runtime/net.ts";
import { readTlsFiles, type TlsFiles } from "../runtime/tls_files.ts";

export interface TlsFileSettings {
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
}

export class ListenerTls {
  readonly files: TlsFiles;
  /** The PEM in effect (read at start, replaced by a good reload). */
  config: TlsServerConfig;

  private constructor(files: TlsFiles) {
    this.files = files;
    this.config = readTlsFiles(files);
  }

  /** Undefined when TLS is off (no tls_cert, no tls_key); throws ConfigError or TlsFileError. */
  static fromSettings(s: TlsFileSettings, prefix = ""): ListenerTls | undefined {
    if (s.tlsCert === "" && s.tlsKey === "") {
      if (s.tlsCa !== "") throw new ConfigError(`${prefix}tls_ca is set without tls_cert and tls_key (mutual TLS needs TLS)`);
      return undefined;
    }
    if (s.tlsCert === "") throw new ConfigError(`${prefix}tls_key is set without tls_cert`);
    if (s.tlsKey === "") throw new ConfigError(`${prefix}tls_cert is set without tls_key`);
    return new ListenerTls({ cert: s.tlsCert, key: s.tlsKey, ca: s.tlsCa === "" ? undefined : s.tlsCa });
  }

  /** Rereads the files and swaps them into `listener`; false (and a warning naming the file) when refused. */
  reload(listener: NetListener | undefined, logger: Logger, address: string): boolean {
    try {
      const next = readTlsFiles(this.files);
      listener?.reloadTls?.(next);
      this.config = next;
      logger.info("TLS certificate reloaded", { address, cert: this.files.cert });
      return true;
    } catch (e) {
      logger.warn("TLS reload refused; the old certificate stays in effect", { address, reason: (e as Error).message });
      return false;
    }
  }
}
