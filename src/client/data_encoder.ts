/**
 * How job payloads become bytes and back, after python-gearman's
 * `data_encoder`: a client or worker is given one encoder and uses it for
 * workloads, results, WORK_DATA and WORK_WARNING alike.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/**
 * Turns values into payload bytes and back.
 *
 * @example
 * ```ts
 * const client = new Client({ encoder: jsonEncoder });
 * const req = await client.submitJob("sum", [1, 2, 3]);
 * req.result; // 6, decoded
 * ```
 */
export interface DataEncoder<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Raw bytes, unchanged (strings are accepted and sent as UTF-8). */
export const bytesEncoder: DataEncoder<Uint8Array> = {
  encode: (value) => typeof value === "string" ? Buffer.from(value, "utf8") : value,
  decode: (bytes) => bytes,
};

/** UTF-8 text: the default. */
export const textEncoder: DataEncoder<string> = {
  encode: (value) => Buffer.from(String(value), "utf8"),
  decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
};

/** JSON over UTF-8; an empty payload decodes to `null`. */
// deno-lint-ignore no-explicit-any
export const jsonEncoder: DataEncoder<any> = {
  encode: (value) => Buffer.from(JSON.stringify(value ?? null), "utf8"),
  decode: (bytes) => bytes.length === 0 ? null : JSON.parse(textEncoder.decode(bytes)),
};
