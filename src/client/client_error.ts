/**
 * Errors of the client and worker library, each with a stable `code` so an
 * application can branch on it without parsing messages.
 *
 * @module
 */

/** Stable codes for everything the library can report. */
export type ClientErrorCode =
  /** No server accepted the request within `maxConnectionAttempts`. */
  | "UNREACHABLE"
  /** A connection broke while a reply was awaited. */
  | "CONNECTION_LOST"
  /** The server did not answer a request within `replyTimeoutMs`; the connection was closed. */
  | "TIMEOUT"
  /** The server answered with an ERROR packet (`serverCode` says which). */
  | "SERVER_ERROR"
  /** The server sent bytes that are not a Gearman response. */
  | "BAD_RESPONSE"
  /** The server does not speak gearbox's reliable-queue extension. */
  | "UNSUPPORTED"
  /** The call does not fit the object's state (a job already ended, a closed client...). */
  | "INVALID_STATE"
  /** An argument is out of range or malformed. */
  | "INVALID_ARGUMENT";

/**
 * An error of the library.
 *
 * @example
 * ```ts
 * try { await client.submitJob("resize", data); }
 * catch (e) { if (e instanceof ClientError && e.code === "UNREACHABLE") retryLater(); }
 * ```
 */
export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** The server's own error code, for `SERVER_ERROR` (e.g. `QUEUE_ERROR`). */
  readonly serverCode: string | undefined;

  constructor(code: ClientErrorCode, message: string, serverCode?: string) {
    super(message);
    this.name = "ClientError";
    this.code = code;
    this.serverCode = serverCode;
  }
}
