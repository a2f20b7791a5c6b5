/** Test helpers: read a PNG's header and measure how much it draws. */
import { createCanvas, loadImage } from '@napi-rs/canvas';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk (which must come first). */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG signature');
  if (png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('first chunk is not IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Fraction of non-white pixels and the variance of grey levels of a decoded PNG. */
export async function inkStats(png: Buffer): Promise<{ ink: number; variance: number; whiteCorner: boolean }> {
  const img = await loadImage(png);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const { data } = ctx.getImageData(0, 0, img.width, img.height);
  let ink = 0,
    sum = 0,
    sumSq = 0;
  const n = img.width * img.height;
  for (let i = 0; i < data.length; i += 4) {
    const grey = (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
    if (grey < 245) ink++;
    sum += grey;
    sumSq += grey * grey;
  }
  const m = sum / n;
  const whiteCorner = data[0] === 255 && data[1] === 255 && data[2] === 255 && data[3] === 255;
  return { ink: ink / n, variance: sumSq / n - m * m, whiteCorner };
}
