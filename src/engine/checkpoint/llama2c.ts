import { kvDim, type LlamaConfig } from '../config.ts';
import { EngineError, mismatch } from '../errors.ts';
import { readAllBytes, type ByteSource, type ReadOptions } from '../io/byte-source.ts';
import type { Checkpoint, LayerArrays } from './checkpoint.ts';
import {
  LEGACY_HEADER_BYTES,
  LLAMA2C_MAGIC,
  VERSIONED_HEADER_BYTES,
  checkFileSize,
  configFromHeader,
  isPlausibleHeader,
  readRawHeader,
} from './header.ts';

/** Element counts of each stored matrix, in the order llama2.c writes them. */
function matrixSizes(c: LlamaConfig) {
  const kv = kvDim(c);
  return {
    embedding: c.vocabSize * c.dim,
    wq: c.dim * c.dim,
    wk: kv * c.dim,
    wv: kv * c.dim,
    wo: c.dim * c.dim,
    w1: c.hiddenDim * c.dim,
    w2: c.dim * c.hiddenDim,
    w3: c.hiddenDim * c.dim,
  };
}

type LayerMatrix = 'wq' | 'wk' | 'wv' | 'wo' | 'w1' | 'w2' | 'w3';
const LAYER_MATRICES: readonly LayerMatrix[] = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'];

/** Reads consecutive little-endian float32 arrays (copied, so alignment never matters). */
class FloatReader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset: number,
  ) {}
  take(count: number): Float32Array {
    const start = this.bytes.byteOffset + this.offset;
    this.offset += count * 4;
    return new Float32Array(this.bytes.buffer.slice(start, start + count * 4));
  }
  takeInt8(count: number): Int8Array {
    const start = this.bytes.byteOffset + this.offset;
    this.offset += count;
    return new Int8Array(this.bytes.buffer, start, count);
  }
}

function assemble(
  config: LlamaConfig,
  format: Checkpoint['format'],
  tokenEmbedding: Float32Array,
  perLayer: (name: keyof LayerArrays, l: number) => Float32Array,
  rmsFinal: Float32Array,
  classifier: Float32Array | null,
): Checkpoint {
  const layers: LayerArrays[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    layers.push({
      rmsAtt: perLayer('rmsAtt', l),
      wq: perLayer('wq', l),
      wk: perLayer('wk', l),
      wv: perLayer('wv', l),
      wo: perLayer('wo', l),
      rmsFfn: perLayer('rmsFfn', l),
      w1: perLayer('w1', l),
      w2: perLayer('w2', l),
      w3: perLayer('w3', l),
    });
  }
  return { config, format, tokenEmbedding, layers, rmsFinal, classifier };
}

/** Version 0: 7-int header, float32 tensors grouped by kind across layers. */
function parseLegacy(bytes: Uint8Array, file: string): Checkpoint {
  const raw = readRawHeader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
  const config = configFromHeader(raw, file, raw.vocabSize > 0);
  const s = matrixSizes(config);
  const L = config.nLayers;
  const headSize = config.dim / config.nHeads;
  const ropeTables = config.seqLen * headSize; // legacy cos + sin, half each
  const floats =
    s.embedding +
    L * (2 * config.dim + s.wq + s.wk + s.wv + s.wo + s.w1 + s.w2 + s.w3) +
    config.dim +
    ropeTables +
    (config.sharedClassifier ? 0 : s.embedding);
  checkFileSize(file, LEGACY_HEADER_BYTES + 4 * floats, bytes.byteLength);

  const r = new FloatReader(bytes, LEGACY_HEADER_BYTES);
  const tokenEmbedding = r.take(s.embedding);
  const grouped = (n: number) => Array.from({ length: L }, () => r.take(n));
  const rmsAtt = grouped(config.dim);
  const byName: Partial<Record<keyof LayerArrays, Float32Array[]>> = { rmsAtt };
  for (const m of ['wq', 'wk', 'wv', 'wo'] as const) byName[m] = grouped(s[m]);
  byName.rmsFfn = grouped(config.dim);
  for (const m of ['w1', 'w2', 'w3'] as const) byName[m] = grouped(s[m]);
  const rmsFinal = r.take(config.dim);
  r.offset += 4 * ropeTables;
  const classifier = config.sharedClassifier ? null : r.take(s.embedding);
  return assemble(config, 'llama2c-v0', tokenEmbedding, (n, l) => byName[n]![l], rmsFinal, classifier);
}

/** Version 2: 256-byte header, float32 norms, then each matrix as int8 values + one scale per group. */
function parseInt8(bytes: Uint8Array, file: string, view: DataView): Checkpoint {
  const raw = readRawHeader(view, 8);
  const shared = view.getUint8(36) === 1;
  const groupSize = view.getInt32(37, true);
  const config = configFromHeader(raw, file, shared);
  if (raw.vocabSize < 0) throw mismatch('checkpoint-dims', file, 'vocab_size in a version 2 header', 'positive', raw.vocabSize);
  if (!(groupSize > 0)) throw mismatch('checkpoint-dims', file, 'group_size', 'a positive integer', groupSize);
  const s = matrixSizes(config);
  const L = config.nLayers;
  for (const [name, n] of Object.entries(s)) {
    if (n % groupSize !== 0)
      throw mismatch('checkpoint-dims', file, `${name} size ${n} divisible by group_size`, 'a whole number of groups', `group_size ${groupSize}`);
  }
  const quantBytes = (n: number) => n + (4 * n) / groupSize;
  const expected =
    VERSIONED_HEADER_BYTES +
    4 * (2 * L * config.dim + config.dim) +
    quantBytes(s.embedding) * (shared ? 1 : 2) +
    L * LAYER_MATRICES.reduce((a, m) => a + quantBytes(s[m]), 0);
  checkFileSize(file, expected, bytes.byteLength);

  const r = new FloatReader(bytes, VERSIONED_HEADER_BYTES);
  const grouped = (n: number) => Array.from({ length: L }, () => r.take(n));
  const rmsAtt = grouped(config.dim);
  const rmsFfn = grouped(config.dim);
  const rmsFinal = r.take(config.dim);
  const dequantized = (n: number): Float32Array => {
    const q = r.takeInt8(n);
    const scales = r.take(n / groupSize);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = q[i] * scales[Math.floor(i / groupSize)];
    return out;
  };
  const tokenEmbedding = dequantized(s.embedding);
  const byName: Partial<Record<keyof LayerArrays, Float32Array[]>> = { rmsAtt, rmsFfn };
  for (const m of LAYER_MATRICES) byName[m] = Array.from({ length: L }, () => dequantized(s[m]));
  const classifier = shared ? null : dequantized(s.embedding);
  return assemble(config, 'llama2c-v2-int8', tokenEmbedding, (n, l) => byName[n]![l], rmsFinal, classifier);
}

/** Parses a llama2.c checkpoint (version 0 float32 or version 2 int8), validating every size. */
export function parseLlama2c(bytes: Uint8Array, file: string): Checkpoint {
  if (bytes.byteLength < LEGACY_HEADER_BYTES)
    throw mismatch('checkpoint-truncated', file, 'file is too short for a header: size in bytes', `at least ${LEGACY_HEADER_BYTES}`, bytes.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic === LLAMA2C_MAGIC) {
    if (bytes.byteLength < VERSIONED_HEADER_BYTES)
      throw mismatch('checkpoint-truncated', file, 'file is too short for a version header: size in bytes', VERSIONED_HEADER_BYTES, bytes.byteLength);
    const version = view.getInt32(4, true);
    if (version !== 2)
      throw mismatch('checkpoint-version', file, 'llama2.c export version', '0 (float32 legacy) or 2 (int8)', version);
    return parseInt8(bytes, file, view);
  }
  const raw = readRawHeader(view, 0);
  if (!isPlausibleHeader(raw)) {
    const first = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const kind = new TextDecoder().decode(bytes.subarray(0, 4)) === 'GGUF' ? ' (a GGUF file)' : '';
    throw new EngineError(
      'checkpoint-magic',
      `${file}: not a llama2.c checkpoint${kind}: expected the 'ak42' magic or a version-0 header of 7 positive dimensions, got first bytes ${first} (header ${Object.values(raw).join(', ')})`,
    );
  }
  return parseLegacy(bytes, file);
}

export async function loadLlama2c(source: ByteSource, opts: ReadOptions): Promise<Checkpoint> {
  return parseLlama2c(await readAllBytes(source, opts), opts.name);
}
