/**
 * Reading an ONNX model (a protobuf ModelProto, decoded with onnx-proto) for what a trace needs:
 * its nodes in graph order with their attributes, its constant tensors (initializers and Constant
 * nodes, for weight shapes and densities) and its one image input. `withOutputs` makes every
 * intermediate tensor fetchable from onnxruntime.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { InputError } from '../../../lib/errors.js';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

export interface OnnxNode {
  /** Index in graph.node, for errors (`/graph/node/<index>`). */
  index: number;
  /** The node's name, or `<opType>_<index>` when the model gives none. */
  name: string;
  opType: string;
  /** Input tensor names ("" for an omitted optional input). */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttributeProto>;
}

export interface OnnxInput {
  name: string;
  /** Dimensions; a symbolic or unknown one is undefined. */
  dims: (number | undefined)[];
  /** ONNX TensorProto.DataType (1 = float32). */
  elemType: number;
}

export interface OnnxModel {
  file: string;
  bytes: Uint8Array;
  nodes: OnnxNode[];
  /** Constant tensors by name: initializers and Constant nodes' outputs. */
  consts: Map<string, TensorProto>;
  /** Graph inputs that are not initializers (what a caller feeds). */
  inputs: OnnxInput[];
  /** Graph output names. */
  outputs: string[];
}

const num = (x: unknown): number => Number(x); // int64 fields decode to Long; Number() reads them

/** Read and decode an ONNX file; anything that is not a ModelProto with a graph is an InputError naming it. */
export function readOnnxModel(file: string): OnnxModel {
  if (!existsSync(file)) throw new InputError('model file not found', { file });
  const bytes = readWithRoom(file);
  let m: onnxProto.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new InputError(`not an ONNX model (${e instanceof Error ? e.message : String(e)})`, { file });
  }
  // Protobuf decodes many byte strings without complaint: an ONNX model has an IR version and a graph with nodes.
  // Decoded messages are class instances: repeated fields are arrays, strings default to "".
  const g = m.graph as onnxProto.onnx.GraphProto | null;
  if (!(num(m.irVersion) > 0) || !g || g.node.length === 0)
    throw new InputError('not an ONNX model (no IR version or no graph nodes)', { file });
  if (g.initializer.some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL))
    throw new InputError('weights in external data files are not supported; export the model with its weights inside it', { file });
  const consts = new Map<string, TensorProto>((g.initializer as onnxProto.onnx.TensorProto[]).map((t) => [t.name, t]));
  const nodes = (g.node as onnxProto.onnx.NodeProto[]).map((n, index): OnnxNode => {
    const attrs = new Map((n.attribute as onnxProto.onnx.AttributeProto[]).map((a) => [a.name, a]));
    const node = { index, name: n.name || `${n.opType}_${index}`, opType: n.opType, inputs: n.input, outputs: n.output, attrs };
    if (n.opType === 'Constant' && attrs.get('value')?.t) consts.set(n.output[0]!, attrs.get('value')!.t!);
    return node;
  });
  const inputs = (g.input as onnxProto.onnx.ValueInfoProto[])
    .filter((v) => !consts.has(v.name))
    .map((v) => ({
      name: v.name,
      dims: (v.type?.tensorType?.shape?.dim ?? []).map((d) =>
        d.dimValue !== undefined && num(d.dimValue) > 0 ? num(d.dimValue) : undefined,
      ),
      elemType: v.type?.tensorType?.elemType ?? 0,
    }));
  return { file, bytes, nodes, consts, inputs, outputs: (g.output as onnxProto.onnx.ValueInfoProto[]).map((v) => v.name) };
}

/** An integer attribute (default when absent). */
export function attrInt(n: OnnxNode, name: string, def: number): number {
  const a = n.attrs.get(name);
  return a ? num(a.i) : def;
}

/** An integer-list attribute, or undefined when absent. */
export function attrInts(n: OnnxNode, name: string): number[] | undefined {
  const a = n.attrs.get(name);
  return a ? (a.ints ?? []).map(num) : undefined;
}

export function attrString(n: OnnxNode, name: string, def: string): string {
  const a = n.attrs.get(name);
  return a?.s ? Buffer.from(a.s).toString('utf8') : def;
}

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map(num);
}

/** Storage bits of an ONNX element type (weights wider than 32 bits are written as 32, the manifest's limit). */
export function elementBits(dataType: number): number {
  const T = onnx.TensorProto.DataType;
  if (dataType === T.FLOAT16 || dataType === T.BFLOAT16 || dataType === T.INT16 || dataType === T.UINT16) return 16;
  if (dataType === T.INT8 || dataType === T.UINT8) return 8;
  return 32;
}

/** Fraction of non-zero elements of a constant tensor (1 when its data type is not one we read). */
export function nonZeroFraction(t: TensorProto): number {
  const count = tensorDims(t).reduce((a, b) => a * b, 1);
  if (count === 0) return 1;
  const T = onnx.TensorProto.DataType;
  let nz = 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (raw) {
    const bytes = raw.length / count;
    if (![1, 2, 4, 8].includes(bytes)) return 1;
    // ±0 are both zero. Byte by byte (the weights lie at any offset in the file: a word view would need a copy of them all), the
    // sign bit masked off a float's last (little-endian, most significant) byte, which is tested first.
    const float = t.dataType === T.FLOAT || t.dataType === T.FLOAT16 || t.dataType === T.BFLOAT16 || t.dataType === T.DOUBLE;
    const top = float ? 0x7f : 0xff;
    for (let i = 0, o = 0; i < count; i++, o += bytes) {
      let any = raw[o + bytes - 1]! & top;
      for (let k = 0; k < bytes - 1 && any === 0; k++) any = raw[o + k]!;
      if (any) nz++;
    }
  } else {
    const values: ArrayLike<unknown> =
      (t.floatData?.length ? t.floatData : undefined) ??
      (t.doubleData?.length ? t.doubleData : undefined) ??
      (t.int32Data?.length ? t.int32Data : undefined) ??
      t.int64Data ??
      [];
    if (values.length !== count) return 1;
    for (let i = 0; i < count; i++) if (num(values[i]) !== 0) nz++;
  }
  return nz / count;
}

/**
 * Spare bytes allocated after a model file's bytes (readWithRoom): withOutputs appends the extra outputs there
 * instead of copying the whole model (a 100 MB model: ~0.3 CPU s a copy here). 1 MiB holds ~20 000 names.
 */
const TAIL_ROOM = 1 << 20;
/** Buffers whose memory after the file's bytes is the recorder's own (not another Buffer's, as in Node's pool). */
const roomy = new WeakSet<ArrayBufferLike>();

function readWithRoom(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafeSlow(size + TAIL_ROOM);
    let done = 0;
    for (let n = 1; done < size && n > 0; done += n) n = readSync(fd, buf, done, size - done, done);
    roomy.add(buf.buffer);
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * The model's bytes with `names` appended to the graph's outputs, so onnxruntime can return them.
 * Appended rather than re-encoded: protobuf merges a repeated embedded message (ModelProto.graph,
 * field 7) field by field and appends repeated fields (GraphProto.output, field 12), and the
 * model's bytes stay untouched, fields newer than onnx-proto's schema included. For a model read by readOnnxModel
 * the result shares its memory (no copy): the next call rewrites it, so create the session from it first
 * (onnxruntime copies what it needs while creating).
 */
export function withOutputs(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  const outputs = names.map((n) => field(12, field(1, Buffer.from(n, 'utf8')))); // ValueInfoProto { name }
  const tail = field(7, Buffer.concat(outputs));
  if (!roomy.has(bytes.buffer) || bytes.byteOffset + bytes.length + tail.length > bytes.buffer.byteLength)
    return Buffer.concat([bytes, tail]);
  const out = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length + tail.length);
  out.set(tail, bytes.length);
  return out;
}

/** One length-delimited protobuf field. */
function field(tag: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint((tag << 3) | 2), ...varint(payload.length)]), payload]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}
