/**
 * An example worker module for `gearbox drive` (README "Run workers").
 * It needs no imports, so it runs from anywhere without node_modules; the
 * job shape is `WorkerModule` in src/driver/worker_module.ts (or use
 * `defineWorker` from mod.ts for types). Functions are registered as
 * `text::reverse`, `text::slow_upper` and `text::words`.
 */

/** The part of a job these handlers use. */
interface Job<T> {
  handle: string;
  data: T;
  sendStatus(numerator: number, denominator: number): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default {
  begin(options: Record<string, unknown>) {
    console.log(`text worker ready (greeting: ${String(options.greeting ?? "none")})`);
  },
  jobs: {
    reverse: {
      min_processes: 1,
      max_processes: 2,
      handler: (job: Job<string>) => [...job.data].reverse().join(""),
    },
    slow_upper: {
      min_processes: 1,
      max_processes: 3,
      timeout: 60,
      handler: async (job: Job<string>) => {
        console.log(`upper-casing ${job.handle}`);
        for (let i = 1; i <= 4; i++) {
          await sleep(100);
          job.sendStatus(i, 4);
        }
        return job.data.toUpperCase();
      },
    },
    words: {
      decode: "json" as const,
      handler: (job: Job<{ text: string }>) => ({ words: job.data.text.split(/\s+/).filter(Boolean).length }),
    },
  },
};
