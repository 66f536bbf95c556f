/**
 * Near-identical trajectories in a dataset: the same tools (by name) and user turns whose
 * word shingles are at least {@link NEAR_TRAJECTORY_THRESHOLD} similar (MinHash estimate). Such
 * pairs teach the same conversation twice; `gemtraj stats` reports them as warnings with a
 * count. In memory (a signature of 64 values per kept trajectory): for datasets of up to a few
 * hundred thousand trajectories.
 */
import type { Trajectory } from '../records.js';
import { MinHasher, similarity } from './minhash.js';

/** Estimated Jaccard similarity of user turns at or above which two trajectories are near-identical. */
export const NEAR_TRAJECTORY_THRESHOLD = 0.8;

export interface NearTrajectory {
  id: string;
  /** The earlier trajectory it nearly repeats. */
  of: string;
  similarity: number;
}

export class NearTrajectoryFinder {
  private readonly hasher = new MinHasher({ shingle: 3, bands: 16, rows: 4 });
  private readonly buckets = new Map<string, number[]>();
  private readonly kept: Array<{ id: string; tools: string; sig: Uint32Array }> = [];

  /** The earlier trajectory `t` nearly repeats, or `undefined` (then it is remembered). */
  add(t: Trajectory): NearTrajectory | undefined {
    const tools = [...new Set(t.tools.map((tool) => tool.function.name))].sort().join(',');
    const users = t.messages.flatMap((m) => (m.role === 'user' ? [m.content] : [])).join('\n');
    const sig = this.hasher.signature(users);
    if (sig === undefined) return undefined;
    const keys = this.hasher.bandKeys(sig).map((k) => `${tools}\u0000${k}`);
    const seen = new Set<number>();
    for (const key of keys) {
      for (const i of this.buckets.get(key) ?? []) {
        if (seen.has(i)) continue;
        seen.add(i);
        const other = this.kept[i];
        if (other === undefined || other.tools !== tools) continue;
        const s = similarity(sig, other.sig);
        if (s >= NEAR_TRAJECTORY_THRESHOLD) return { id: t.id, of: other.id, similarity: s };
      }
    }
    const index = this.kept.push({ id: t.id, tools, sig }) - 1;
    for (const key of keys) {
      const bucket = this.buckets.get(key);
      if (bucket === undefined) this.buckets.set(key, [index]);
      else bucket.push(index);
    }
    return undefined;
  }
}
