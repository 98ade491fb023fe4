/** A LlamaConfig from GGUF metadata (llama.* keys), and the metadata the writer stores for one. */
import { configFromHeader } from '../checkpoint/header.ts';
import { headSize, LLAMA_ROPE_THETA, type LlamaConfig } from '../config.ts';
import { EngineError, mismatch } from '../errors.ts';
import type { GgufHeader, GgufTensorInfo, MetadataValue } from './read-header.ts';

const ARCH = 'llama';

/** Typed access to metadata values, with messages naming the key. */
export class MetadataReader {
  constructor(
    readonly metadata: Record<string, MetadataValue>,
    private readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.metadata[key] !== undefined;
  }

  private required(key: string): MetadataValue {
    const v = this.metadata[key];
    if (v === undefined) throw new EngineError('gguf-format', `${this.file}: metadata key ${key} is missing`);
    return v;
  }

  uint(key: string, fallback?: number): number {
    if (fallback !== undefined && !this.has(key)) return fallback;
    const v = this.required(key);
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw mismatch('gguf-format', this.file, `metadata ${key}`, 'a non-negative integer', String(v));
    return n;
  }

  float(key: string, fallback?: number): number {
    if (fallback !== undefined && !this.has(key)) return fallback;
    const v = this.required(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw mismatch('gguf-format', this.file, `metadata ${key}`, 'a number', String(v));
    return v;
  }

  string(key: string, fallback?: string): string {
    if (fallback !== undefined && !this.has(key)) return fallback;
    const v = this.required(key);
    if (typeof v !== 'string') throw mismatch('gguf-format', this.file, `metadata ${key}`, 'a string', String(v));
    return v;
  }

  array(key: string): MetadataValue[] {
    const v = this.required(key);
    if (!Array.isArray(v)) throw mismatch('gguf-format', this.file, `metadata ${key}`, 'an array', typeof v);
    return v;
  }
}

/** Refuses what our forward pass does not compute, rather than running it wrongly. */
function refuseVariants(m: MetadataReader, file: string, head: number): void {
  const unsupported = (what: string) => new EngineError('gguf-unsupported', `${file}: ${what} is not supported`);
  const ropeDims = m.uint(`${ARCH}.rope.dimension_count`, head);
  if (ropeDims !== head) throw unsupported(`partial RoPE (${ARCH}.rope.dimension_count ${ropeDims}, head size ${head})`);
  const scaling = m.string(`${ARCH}.rope.scaling.type`, 'none');
  if (scaling !== 'none') throw unsupported(`RoPE scaling "${scaling}" (${ARCH}.rope.scaling.type)`);
  const linear = m.float(`${ARCH}.rope.scale_linear`, 1);
  if (linear !== 1) throw unsupported(`linear RoPE scaling ${linear} (${ARCH}.rope.scale_linear)`);
  const experts = m.uint(`${ARCH}.expert_count`, 0);
  if (experts > 0) throw unsupported(`a mixture of ${experts} experts (${ARCH}.expert_count)`);
  for (const key of ['key_length', 'value_length']) {
    const n = m.uint(`${ARCH}.attention.${key}`, head);
    if (n !== head) throw unsupported(`${ARCH}.attention.${key} ${n} different from the head size ${head}`);
  }
}

/**
 * The model's shape from the llama.* keys; the vocabulary size from token_embd's shape, and a
 * shared classifier when output.weight is absent (as llama.cpp reads it).
 */
export function llamaConfigFromGguf(header: GgufHeader, file: string): LlamaConfig {
  const m = new MetadataReader(header.metadata, file);
  const arch = m.string('general.architecture');
  if (arch !== ARCH) throw new EngineError('gguf-unsupported', `${file}: architecture "${arch}" is not supported: only Llama-family GGUF files ("llama") can be loaded`);
  const embedding = header.tensors.find((t: GgufTensorInfo) => t.name === 'token_embd.weight');
  if (!embedding || embedding.dims.length !== 2) throw new EngineError('gguf-format', `${file}: no two-dimensional token_embd.weight tensor`);
  const nHeads = m.uint(`${ARCH}.attention.head_count`);
  const raw = {
    dim: m.uint(`${ARCH}.embedding_length`),
    hiddenDim: m.uint(`${ARCH}.feed_forward_length`),
    nLayers: m.uint(`${ARCH}.block_count`),
    nHeads,
    nKvHeads: m.uint(`${ARCH}.attention.head_count_kv`, nHeads),
    vocabSize: embedding.dims[1],
    seqLen: m.uint(`${ARCH}.context_length`),
  };
  const shared = !header.tensors.some((t) => t.name === 'output.weight');
  const config = configFromHeader(raw, file, shared);
  refuseVariants(m, file, headSize(config));
  return {
    ...config,
    normEps: m.float(`${ARCH}.attention.layer_norm_rms_epsilon`),
    ropeTheta: m.float(`${ARCH}.rope.freq_base`, LLAMA_ROPE_THETA),
  };
}
