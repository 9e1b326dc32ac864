/**
 * A stored job for store tests: every field set, `over` replacing any of
 * them. Its workload is three bytes (the id's low byte, 0, 255), so a
 * store that loses a NUL or a high byte is caught.
 */
import type { StoredJob } from "../../src/store/job_store.ts";

export function storedJob(id: number, over: Partial<StoredJob> = {}): StoredJob {
  return {
    id,
    handle: `H:t.boot:${id}`,
    function: "f",
    unique: "",
    data: new Uint8Array([id & 0xff, 0, 0xff]),
    reducer: "",
    priority: 1,
    runAt: 0,
    createdAt: 1000 + id,
    retries: 0,
    failures: [],
    ended: undefined,
    ...over,
  };
}
