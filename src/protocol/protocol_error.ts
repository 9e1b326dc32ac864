/**
 * Errors found while decoding bytes from the wire. Each has a stable `code`
 * for logs and counters, the `wireCode`/`text` pair the server answers with
 * (gearmand's, where gearmand has one), and whether the stream can still be
 * trusted afterwards (`fatal`: answer, then close).
 *
 * @module
 */

/** Stable codes for everything the decoder can reject. */
export type ProtocolErrorCode =
  | "BAD_MAGIC"
  | "RESPONSE_MAGIC"
  | "UNKNOWN_COMMAND"
  | "RESERVED_COMMAND"
  | "PACKET_TOO_LARGE"
  | "INVALID_PACKET"
  | "LINE_TOO_LONG"
  | "TLS_ON_PLAINTEXT";

const WIRE: Record<ProtocolErrorCode, { wireCode: string; text: string; fatal: boolean }> = {
  BAD_MAGIC: { wireCode: "INVALID_MAGIC", text: "Bad magic in packet header", fatal: true },
  RESPONSE_MAGIC: { wireCode: "INVALID_MAGIC", text: "Request magic expected", fatal: false },
  UNKNOWN_COMMAND: { wireCode: "INVALID_COMMAND", text: "Command not expected", fatal: false },
  RESERVED_COMMAND: { wireCode: "INVALID_COMMAND", text: "Command 0 is reserved", fatal: true },
  PACKET_TOO_LARGE: { wireCode: "ARGUMENT_TOO_LARGE", text: "Packet larger than the server accepts", fatal: true },
  INVALID_PACKET: { wireCode: "INVALID_PACKET", text: "Packet has too few arguments for its type", fatal: false },
  LINE_TOO_LONG: { wireCode: "LINE_TOO_LONG", text: "Admin line longer than the server accepts", fatal: true },
  TLS_ON_PLAINTEXT: { wireCode: "TLS_NOT_SUPPORTED", text: "TLS handshake on a plaintext port", fatal: true },
};

/** A decoding failure with a stable code and the reply it deserves. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly wireCode: string;
  readonly fatal: boolean;
  /** True when the offending input was an admin text line. */
  readonly text: boolean;

  constructor(code: ProtocolErrorCode, detail?: string, text = false) {
    const row = WIRE[code];
    super(detail ? `${row.text}: ${detail}` : row.text);
    this.name = "ProtocolError";
    this.code = code;
    this.wireCode = row.wireCode;
    this.fatal = row.fatal;
    this.text = text;
  }

  /** The human text sent in the ERROR packet (gearmand's wording where it has one). */
  get wireText(): string {
    return WIRE[this.code].text;
  }
}
