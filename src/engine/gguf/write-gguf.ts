/**
 * Writes a Checkpoint and its Tokenizer as a GGUF v3 file the way llama.cpp's converter lays out
 * a Llama model: llama.* hyperparameters, the SentencePiece vocabulary, tensors named and shaped
 * as llama.cpp reads them (q/k rows need no RoPE permutation: see llama-tensors.ts), data aligned
 * to 32 bytes. The key/value section is serialized by @huggingface/gguf's serializeGgufMetadata
 * (with alignment 1, so that the tensor infos follow it directly); the tensor infos, which that
 * library only copies from an existing file, are written here.
 */
import { GGMLFileQuantizationType, GGUFValueType, serializeGgufMetadata, type GGUFTypedMetadata, type MetadataValue } from '@huggingface/gguf';
import { checkpointTensors, type Checkpoint } from '../checkpoint/checkpoint.ts';
import { headSize } from '../config.ts';
import { BLOCK, quantize, type QuantFormat, type QuantizedMatrix } from '../quant/blocks.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { ggufVocabulary } from './gguf-tokenizer.ts';
import { ggufNameOf } from './llama-tensors.ts';
import { encodeTensor } from './tensor-codec.ts';

export type GgufWeightType = 'f32' | 'f16' | QuantFormat;

export interface WriteGgufOptions {
  /** How matrices are stored. Vectors (norms) stay F32, as llama.cpp keeps them. */
  type: GgufWeightType;
  /** general.name */
  name?: string;
}

const ALIGNMENT = 32;
const FILE_TYPE: Record<GgufWeightType, GGMLFileQuantizationType> = {
  f32: GGMLFileQuantizationType.F32,
  f16: GGMLFileQuantizationType.F16,
  q8_0: GGMLFileQuantizationType.Q8_0,
  q4_0: GGMLFileQuantizationType.Q4_0,
};

type Entry = { value: MetadataValue; type: GGUFValueType; subType?: GGUFValueType };
const u32 = (value: number): Entry => ({ value, type: GGUFValueType.UINT32 });
const f32 = (value: number): Entry => ({ value, type: GGUFValueType.FLOAT32 });
const str = (value: string): Entry => ({ value, type: GGUFValueType.STRING });
const bool = (value: boolean): Entry => ({ value, type: GGUFValueType.BOOL });
const array = (value: MetadataValue[], subType: GGUFValueType): Entry => ({ value, type: GGUFValueType.ARRAY, subType });

function metadataOf(ck: Checkpoint, tok: Tokenizer, opts: WriteGgufOptions): Record<string, Entry> {
  const c = ck.config;
  const vocab = ggufVocabulary(tok);
  return {
    'general.architecture': str('llama'),
    'general.name': str(opts.name ?? 'llama'),
    'general.alignment': u32(ALIGNMENT),
    'general.file_type': u32(FILE_TYPE[opts.type]),
    ...(opts.type.startsWith('q') ? { 'general.quantization_version': u32(2) } : {}),
    'llama.context_length': u32(c.seqLen),
    'llama.embedding_length': u32(c.dim),
    'llama.block_count': u32(c.nLayers),
    'llama.feed_forward_length': u32(c.hiddenDim),
    'llama.rope.dimension_count': u32(headSize(c)),
    'llama.attention.head_count': u32(c.nHeads),
    'llama.attention.head_count_kv': u32(c.nKvHeads),
    'llama.attention.layer_norm_rms_epsilon': f32(c.normEps),
    'llama.rope.freq_base': f32(c.ropeTheta),
    'llama.vocab_size': u32(c.vocabSize),
    'tokenizer.ggml.model': str('llama'),
    'tokenizer.ggml.tokens': array(vocab.tokens, GGUFValueType.STRING),
    'tokenizer.ggml.scores': array(vocab.scores, GGUFValueType.FLOAT32),
    'tokenizer.ggml.token_type': array(vocab.types, GGUFValueType.INT32),
    'tokenizer.ggml.bos_token_id': u32(tok.bosId),
    'tokenizer.ggml.eos_token_id': u32(tok.eosId),
    'tokenizer.ggml.unknown_token_id': u32(0),
    'tokenizer.ggml.add_bos_token': bool(true),
    'tokenizer.ggml.add_eos_token': bool(false),
  };
}

/**
 * Matrices in the requested type; a matrix whose rows do not split into 32-blocks (stories260K's
 * w2 has 172 columns) cannot be block-quantized and stays F32, as llama.cpp also falls back for it.
 */
function storedValue(data: Float32Array, shape: number[], type: GgufWeightType): { value: Float32Array | QuantizedMatrix; half: boolean } {
  if (shape.length !== 2 || type === 'f32') return { value: data, half: false };
  if (type === 'f16') return { value: data, half: true };
  if (shape[1] % BLOCK !== 0) return { value: data, half: false };
  return { value: quantize(type, data, shape[0], shape[1]), half: false };
}

const pad = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;

export function writeGguf(ck: Checkpoint, tok: Tokenizer, opts: WriteGgufOptions): Uint8Array {
  const tensors = checkpointTensors(ck).map((t) => {
    const { value, half } = storedValue(t.data, t.shape, opts.type);
    return { name: ggufNameOf(t.name), dims: [...t.shape].reverse(), ...encodeTensor(value, half) };
  });
  const kv = metadataOf(ck, tok, opts);
  const typed = {
    version: { value: 3, type: GGUFValueType.UINT32 },
    tensor_count: { value: BigInt(tensors.length), type: GGUFValueType.UINT64 },
    kv_count: { value: BigInt(Object.keys(kv).length), type: GGUFValueType.UINT64 },
    ...kv,
  } as GGUFTypedMetadata;
  const head = serializeGgufMetadata(typed, { alignment: 1 });

  const encoder = new TextEncoder();
  const names = tensors.map((t) => encoder.encode(t.name));
  const infoBytes = tensors.reduce((n, t, i) => n + 8 + names[i].length + 4 + 8 * t.dims.length + 4 + 8, 0);
  const dataStart = pad(head.length + infoBytes);
  const offsets: number[] = [];
  let dataBytes = 0;
  for (const t of tensors) {
    offsets.push(dataBytes);
    dataBytes = pad(dataBytes + t.bytes.length);
  }

  const out = new Uint8Array(dataStart + dataBytes);
  const view = new DataView(out.buffer);
  out.set(head, 0);
  let at = head.length;
  tensors.forEach((t, i) => {
    view.setBigUint64(at, BigInt(names[i].length), true);
    out.set(names[i], at + 8);
    at += 8 + names[i].length;
    view.setUint32(at, t.dims.length, true);
    at += 4;
    for (const d of t.dims) {
      view.setBigUint64(at, BigInt(d), true);
      at += 8;
    }
    view.setUint32(at, t.type, true);
    view.setBigUint64(at + 4, BigInt(offsets[i]), true);
    at += 12;
    out.set(t.bytes, dataStart + offsets[i]);
  });
  return out;
}
