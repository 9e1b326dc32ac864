/**
 * Prints the hottest functions of a V8/JSC `.cpuprofile` (as written by
 * `bun --cpu-prof`): self time and inclusive time, in percent of samples.
 *
 *   bun --cpu-prof --cpu-prof-dir=prof src/cli/main.ts serve -p 14742 &
 *   ... load ...; kill -INT %1; bun scripts/profile_summary.ts prof/*.cpuprofile
 */
import { readFileSync } from "node:fs";

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const top = Number(process.env.TOP ?? 30);
const profile: Profile = JSON.parse(readFileSync(process.argv[2]!, "utf8"));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (f: Frame) => `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber}`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const key = name(nodes.get(id)!.callFrame);
  self.set(key, (self.get(key) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = name(nodes.get(cur)!.callFrame);
    if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    seen.add(k);
  }
});
const print = (title: string, m: Map<string, number>) => {
  console.log(title);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((v / total) * 100).toFixed(1).padStart(5)}  ${k}`);
};
print("self %", self);
print("inclusive %", inclusive);
