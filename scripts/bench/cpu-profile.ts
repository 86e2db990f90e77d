/**
 * Reads a V8 CPU profile (node --cpu-prof) and tells where the time went: the top functions by
 * self time, and the time per package (express, pino, ioredis, ...), node's internals, UVIS's
 * own code, and V8's garbage collector. Idle time is left out: shares are of busy time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  busyMs: number;
  top: { frame: string; group: string; selfMs: number; share: number }[];
  groups: { group: string; selfMs: number; share: number }[];
}

/** Where a frame's code comes from: an npm package, node's own modules, UVIS, or V8 itself. */
function groupOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  return 'uvis';
}

function frameName(frame: ProfileNode['callFrame']): string {
  const where = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|scripts)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
}

export function summariseProfile(file: string, topN = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, { group: string; micros: number }>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') return;
    // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
    const micros = profile.timeDeltas[i + 1] ?? 0;
    busy += micros;
    const key = frameName(node.callFrame);
    const entry = selfMicros.get(key) ?? { group: groupOf(node.callFrame.url, node.callFrame.functionName), micros: 0 };
    entry.micros += micros;
    selfMicros.set(key, entry);
  });
  const groups = new Map<string, number>();
  for (const { group, micros } of selfMicros.values()) groups.set(group, (groups.get(group) ?? 0) + micros);
  const share = (micros: number) => Math.round((micros / busy) * 1000) / 10;
  return {
    busyMs: Math.round(busy / 1000),
    top: [...selfMicros.entries()]
      .sort((a, b) => b[1].micros - a[1].micros)
      .slice(0, topN)
      .map(([frame, { group, micros }]) => ({ frame, group, selfMs: Math.round(micros / 1000), share: share(micros) })),
    groups: [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([group, micros]) => ({ group, selfMs: Math.round(micros / 1000), share: share(micros) })),
  };
}
