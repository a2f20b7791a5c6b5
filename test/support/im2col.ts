/** The brute-force im2col of an event map: the oracle of the systolic fold models' tests. */
import type { Layer } from '../../sim/index.js';

/** Naive im2col mask: nz[g][m][k] of the event map (k = (ky·kw + kx)·cin + c, the HWIO order). */
export function naiveIm2col(l: Layer, events: Uint8Array): number[][][] {
  const [H, W, C] = l.input as [number, number, number];
  const [OH, OW] = l.output as [number, number, number];
  const cin = C / l.groups;
  return Array.from({ length: l.groups }, (_, g) =>
    Array.from({ length: OH * OW }, (_, m) => {
      const oh = Math.floor(m / OW),
        ow = m % OW;
      const row: number[] = [];
      for (let ky = 0; ky < l.kernel[0]; ky++)
        for (let kx = 0; kx < l.kernel[1]; kx++)
          for (let c = 0; c < cin; c++) {
            const y = oh * l.stride[0] + ky * l.dilation[0] - l.padding[0];
            const x = ow * l.stride[1] + kx * l.dilation[1] - l.padding[2];
            row.push(y >= 0 && x >= 0 && y < H && x < W ? events[(y * W + x) * C + g * cin + c]! : 0);
          }
      return row;
    }),
  );
}
