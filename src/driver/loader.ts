/**
 * Finds the jobs to supervise: command jobs from the config, and the jobs of
 * every worker module under the namespaces (files, or directories of
 * `.ts`/`.js` files), grouped by process_group, with
 * job_runtime_attributes applied last.
 *
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import type { DriveSettings } from "../config/drive_options.ts";
import { importFile } from "../runtime/load.ts";
import type { JobDefinition } from "./job_definition.ts";
import { type WorkerModule, workerModuleOf } from "./worker_module.ts";

const MODULE_FILE = /\.(ts|js|mjs)$/;

/** Module files under the namespaces, in a stable order. */
export function moduleFiles(namespaces: readonly string[]): string[] {
  const files: string[] = [];
  for (const ns of namespaces) {
    const path = resolve(ns);
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new Error(`namespace ${ns}: no such file or directory`);
    }
    if (st.isFile()) files.push(path);
    else {
      for (const name of readdirSync(path).sort()) {
        if (MODULE_FILE.test(name) && !name.endsWith(".d.ts") && !name.includes(".test.")) files.push(join(path, name));
      }
    }
  }
  return files;
}

/** Every job definition of the settings; throws with the file or key at fault. */
export async function loadJobs(settings: DriveSettings): Promise<JobDefinition[]> {
  const jobs: JobDefinition[] = [];
  for (const [name, cfg] of Object.entries(settings.jobs)) {
    jobs.push({
      name,
      functions: cfg.functions ?? [name],
      min: cfg.min_processes ?? 1,
      max: cfg.max_processes ?? Math.max(cfg.min_processes ?? 1, 1),
      timeoutMs: cfg.timeout === undefined ? undefined : cfg.timeout * 1000,
      ...(cfg.target_wait === undefined ? {} : { targetWaitMs: cfg.target_wait * 1000 }),
      kind: "command",
      command: cfg.command,
    });
  }
  for (const file of moduleFiles(settings.namespaces)) {
    let exports: Record<string, unknown>;
    try {
      exports = await importFile(file);
    } catch (e) {
      throw new Error(`${file}: cannot load worker module: ${(e as Error).message}`);
    }
    jobs.push(...moduleJobs(file, workerModuleOf(exports, file), settings));
  }
  const seen = new Set<string>();
  for (const def of jobs) {
    if (seen.has(def.name)) throw new Error(`job ${def.name} is defined twice`);
    seen.add(def.name);
    const attrs = settings.jobRuntimeAttributes[def.name];
    if (attrs?.min_processes !== undefined) def.min = attrs.min_processes;
    if (attrs?.max_processes !== undefined) def.max = attrs.max_processes;
    if (attrs?.target_wait !== undefined) def.targetWaitMs = attrs.target_wait * 1000;
    if (def.min > def.max) throw new Error(`job ${def.name}: min processes (${def.min}) above max (${def.max})`);
  }
  for (const name of Object.keys(settings.jobRuntimeAttributes)) {
    if (!seen.has(name)) throw new Error(`job_runtime_attributes.${name}: no such job (known: ${[...seen].join(", ")})`);
  }
  return jobs;
}

/** A worker module's jobs: one definition per process group (a job alone is its own group). */
function moduleJobs(file: string, mod: WorkerModule, settings: DriveSettings): JobDefinition[] {
  const jobs: JobDefinition[] = [];
  const stem = basename(file, extname(file));
  const prefix = mod.prefix ?? `${stem}::`;
  const options = { ...settings.workerOptions.GLOBAL, ...settings.workerOptions[stem] };
  const groups = new Map<string, JobDefinition>();
  for (const [jobName, job] of Object.entries(mod.jobs)) {
    const key = job.process_group ?? jobName;
    let def = groups.get(key);
    if (!def) {
      def = {
        name: prefix + key,
        functions: [],
        min: 0,
        max: 0,
        timeoutMs: undefined,
        kind: "module",
        module: file,
        prefix,
        members: [],
        options,
      };
      groups.set(key, def);
      jobs.push(def);
    }
    def.functions.push(prefix + jobName);
    def.members!.push(jobName);
    def.min = Math.max(def.min, job.min_processes ?? 1);
    def.max = Math.max(def.max, job.max_processes ?? job.min_processes ?? 1);
    if (job.timeout !== undefined) def.timeoutMs = Math.max(def.timeoutMs ?? 0, job.timeout * 1000);
  }
  return jobs;
}
