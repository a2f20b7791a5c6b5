/**
 * The contract between video sources (src/video) and training / trace recording (src/tf, src/record).
 * A clip is T frames of H×W×C pixels, values in [0, 1], laid out [t][y][x][c] (NHWC per frame).
 */
export interface Clip {
  frames: Float32Array;
  t: number;
  h: number;
  w: number;
  c: number;
  /** Class index into the dataset's `classes`; -1 when unlabelled (e.g. a raw video file). */
  label: number;
  /** Where it came from, for trace manifests: e.g. "procedural:seed=1#17" or "file:/path.avi@120". */
  source: string;
  /** Index of the clip's first frame in its source video. */
  firstFrame: number;
}

export interface ClipDataset {
  readonly classes: readonly string[];
  readonly size: number;
  /** Clips are produced on demand so that memory does not grow with the dataset. */
  get(index: number): Promise<Clip>;
}
