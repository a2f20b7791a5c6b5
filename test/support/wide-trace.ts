/** A one-layer int16 trace whose levels do not all fit 8-bit activations (the precision check's fixture). */
import { writeTrace } from '../../traces/writer.js';

/** Writes it to `dir` with one frame per `frames` entry; returns how many levels exceed 255 (9 bits or more). */
export async function writeWideTrace(dir: string, frames: Int16Array[]): Promise<number> {
  const layer = {
    name: 'conv',
    op: 'conv2d' as const,
    input: [4, 4, 2],
    output: [4, 4, 3],
    kernel: [3, 3] as [number, number],
    stride: [1, 1] as [number, number],
    padding: [1, 1, 1, 1] as [number, number, number, number],
    dilation: [1, 1] as [number, number],
    groups: 1,
    weightBits: 8,
    weightDensity: 1,
    act: { dtype: 'int16' as const, scale: 0.01, signed: false },
  };
  await writeTrace(dir, { model: { name: 'wide' }, frames: frames.length, fps: 10, layers: [layer] }, (w) => {
    for (const f of frames) w.appendFrame(0, f);
  });
  return frames.reduce((n, f) => n + f.filter((v) => v > 255).length, 0);
}
