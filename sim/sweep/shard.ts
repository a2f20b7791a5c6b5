/**
 * Sharding: `k/n` (k 1-based, 1 ≤ k ≤ n) runs points i with i mod n = k − 1 (round-robin: neighbouring
 * points cost alike, so shards finish together). `auto/n` takes k from a cluster array job:
 * Kubernetes indexed Jobs' JOB_COMPLETION_INDEX (0-based), or Slurm's SLURM_ARRAY_TASK_ID counted from
 * SLURM_ARRAY_TASK_MIN (so `--array=0-7` and `--array=1-8` both work).
 */
import { InputError } from '../../lib/errors.js';

export interface Shard {
  /** 0-based shard index. */
  index: number;
  count: number;
}

const int = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s.trim()) ? Number(s) : undefined);

export function parseShard(spec: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const where = { file: `--shard ${spec}` };
  const m = /^(auto|\d+)\/(\d+)$/.exec(spec.trim());
  const count = int(m?.[2]);
  if (!m || !count) throw new InputError('expected k/n (1 ≤ k ≤ n) or auto/n', where);
  let index: number;
  if (m[1] === 'auto') {
    const k8s = int(env.JOB_COMPLETION_INDEX);
    const slurm = int(env.SLURM_ARRAY_TASK_ID);
    if (k8s !== undefined) index = k8s;
    else if (slurm !== undefined) index = slurm - (int(env.SLURM_ARRAY_TASK_MIN) ?? 0);
    else
      throw new InputError(
        'auto needs JOB_COMPLETION_INDEX (Kubernetes indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array) in the environment',
        where,
      );
    if (index < 0 || index >= count)
      throw new InputError(`the array index from the environment gives shard ${index + 1}, outside 1..${count}`, where);
  } else {
    index = Number(m[1]) - 1;
    if (index < 0 || index >= count) throw new InputError(`k must be in 1..${count} (shards are numbered from 1)`, where);
  }
  return { index, count };
}

/** The point indices a shard runs, in order. */
export function shardPoints(points: number, shard?: Shard): number[] {
  const out: number[] = [];
  const step = shard?.count ?? 1;
  for (let i = shard?.index ?? 0; i < points; i += step) out.push(i);
  return out;
}

/** File stem of a shard's outputs: shard-K-of-N (K 1-based). */
export const shardName = (s: Shard): string => `shard-${s.index + 1}-of-${s.count}`;
