/**
 * Loading a Llama GGUF: the header first (config, tokenizer, every tensor's type and size, all
 * validated before any tensor data is read), then the tensors one at a time in file order as
 * their bytes arrive, so a file larger than any single buffer is never held whole.
 */
import { LAYER_FIELDS, tensorNames, tensorShape, type Checkpoint, type LayerArrays } from '../checkpoint/checkpoint.ts';
import type { LlamaConfig } from '../config.ts';
import { EngineError, mismatch } from '../errors.ts';
import type { ReadOptions } from '../io/byte-source.ts';
import { deviceBytesOf, type StorageFormat } from '../memory-plan.ts';
import { BLOCK, dequantize } from '../quant/blocks.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { HostTensor, LayerTensorName, TensorName } from '../weights/host-tensor.ts';
import { ByteReader, type GgufSource } from './byte-reader.ts';
import { tokenizerFromGguf } from './gguf-tokenizer.ts';
import { llamaConfigFromGguf, MetadataReader } from './llama-config.ts';
import { hostNameOf } from './llama-tensors.ts';
import { readGgufHeader, type GgufHeader } from './read-header.ts';
import { decodeTensor } from './tensor-codec.ts';
import { Q6K_BLOCK } from './q6k.ts';
import { GGML_F16, GGML_F32, GGML_Q6_K, isSupportedType, QUANT_FORMAT_OF, storedBytes, type SupportedType } from './tensor-types.ts';

/** One tensor of the file as the memory planner sees it. */
export interface GgufTensorEntry {
  name: TensorName;
  ggufName: string;
  /** GGML type name: F32, F16, Q8_0 or Q4_0. */
  type: string;
  /** Our shape: [n] or [out, in]. */
  shape: number[];
  elements: number;
  /** Bytes in the file. */
  fileBytes: number;
  /** The format the backend holds it in. */
  stored: StorageFormat;
  /**
   * Bytes of the host value handed to the backend, which keeps it as is: float32 for F32 and F16
   * (TF.js has no half type), packed int8 or int4 words plus one float32 scale per 32 weights.
   */
  deviceBytes: number;
  /** Absolute offset in the file. */
  offset: number;
}

export interface GgufModel {
  file: string;
  header: GgufHeader;
  config: LlamaConfig;
  tokenizer: Tokenizer;
  /** Every tensor, in file order, with its sizes. */
  entries: GgufTensorEntry[];
  /** Sums over entries. */
  fileTensorBytes: number;
  deviceBytes: number;
  /** The tensors as their bytes arrive, in file order; can be iterated once. */
  tensors: AsyncIterable<HostTensor>;
  /** Stops reading the file (after a refusal or an abort); reading every tensor closes it too. */
  close(): void;
}

/** How the backend holds a tensor of this type: floats as float32, Q6_K as Q8_0 (tensor-types.ts). */
const storedAs = (type: SupportedType): StorageFormat => (type === GGML_F32 ? 'f32' : type === GGML_F16 ? 'f16' : QUANT_FORMAT_OF[type]!);
/** Checks every tensor against the config (names, types, shapes, offsets) before reading data. */
function planTensors(header: GgufHeader, config: LlamaConfig, file: string, fileSize: number | undefined): GgufTensorEntry[] {
  const entries: GgufTensorEntry[] = [];
  const seen = new Set<TensorName>();
  for (const t of header.tensors) {
    const name = hostNameOf(t.name, config.nLayers);
    if (!name) throw new EngineError('gguf-unsupported', `${file}: tensor ${t.name} is not part of a Llama model this engine runs`);
    if (seen.has(name)) throw new EngineError('gguf-format', `${file}: tensor ${t.name} appears twice`);
    seen.add(name);
    if (!isSupportedType(t.type))
      throw new EngineError('gguf-unsupported', `${file}: tensor ${t.name} has type ${t.typeName}: only F32, F16, Q8_0, Q4_0 and Q6_K (converted to Q8_0) are supported`);
    const shape = [...t.dims].reverse();
    const expected = tensorShape(name, config);
    if (shape.join() !== expected.join())
      throw mismatch('gguf-format', file, `shape of ${t.name} ([out, in])`, `[${expected}] from the metadata`, `[${shape}]`);
    const block = t.type === GGML_Q6_K ? Q6K_BLOCK : BLOCK;
    if (t.type !== GGML_F32 && t.type !== GGML_F16 && (shape.length !== 2 || shape[1] % block !== 0))
      throw new EngineError('gguf-unsupported', `${file}: tensor ${t.name} of shape [${shape}] has type ${t.typeName}: only matrices with rows of whole ${block}-blocks are kept quantized`);
    if ((t.offset - header.dataOffset) % header.alignment !== 0)
      throw mismatch('gguf-format', file, `offset of ${t.name}`, `a multiple of the alignment ${header.alignment}`, t.offset - header.dataOffset);
    const fileBytes = storedBytes(t.type, t.elements);
    const stored = storedAs(t.type);
    entries.push({ name, ggufName: t.name, type: t.typeName, shape, elements: t.elements, fileBytes, stored, deviceBytes: deviceBytesOf(stored, t.elements), offset: t.offset });
  }
  const missing = tensorNames(config).filter((n) => !seen.has(n)); // output.weight only with its own classifier
  if (missing.length) throw new EngineError('gguf-format', `${file}: missing tensors: ${missing.join(', ')}`);
  entries.sort((a, b) => a.offset - b.offset);
  entries.forEach((e, i) => {
    const next = entries[i + 1];
    if (next && e.offset + e.fileBytes > next.offset) throw new EngineError('gguf-format', `${file}: tensors ${e.ggufName} and ${next.ggufName} overlap`);
  });
  const last = entries[entries.length - 1];
  // A known size lets a truncated file be refused before any tensor is read.
  if (fileSize !== undefined && last.offset + last.fileBytes > fileSize)
    throw mismatch('gguf-format', file, `file is truncated: size in bytes (tensor ${last.ggufName} ends at)`, last.offset + last.fileBytes, fileSize);
  return entries;
}

async function* streamTensors(reader: ByteReader, header: GgufHeader, entries: GgufTensorEntry[]): AsyncGenerator<HostTensor> {
  const typeOf = new Map(header.tensors.map((t) => [t.name, t.type as SupportedType]));
  try {
    for (const e of entries) {
      if (reader.position < e.offset) await reader.readExactly(e.offset - reader.position, `the padding before tensor ${e.ggufName}`);
      const bytes = await reader.readExactly(e.fileBytes, `tensor ${e.ggufName}`);
      const [rows, cols] = e.shape.length === 2 ? e.shape : [1, e.shape[0]];
      yield { name: e.name, shape: e.shape, value: decodeTensor(typeOf.get(e.ggufName)!, bytes, rows, cols) };
    }
  } finally {
    reader.close();
  }
}

/** Reads and validates the header; the tensors follow through `tensors`. */
export async function readGgufModel(source: GgufSource, opts: ReadOptions): Promise<GgufModel> {
  const file = opts.name;
  const reader = new ByteReader(source, opts);
  try {
    const header = await readGgufHeader(reader, file);
    const config = llamaConfigFromGguf(header, file);
    const tokenizer = tokenizerFromGguf(new MetadataReader(header.metadata, file), file);
    if (tokenizer.vocabSize !== config.vocabSize)
      throw mismatch('tokenizer-mismatch', file, 'tokens in tokenizer.ggml.tokens (rows of token_embd.weight)', config.vocabSize, tokenizer.vocabSize);
    const entries = planTensors(header, config, file, reader.totalBytes);
    return {
      file,
      header,
      config,
      tokenizer,
      entries,
      fileTensorBytes: entries.reduce((n, e) => n + e.fileBytes, 0),
      deviceBytes: entries.reduce((n, e) => n + e.deviceBytes, 0),
      tensors: streamTensors(reader, header, entries),
      close: () => reader.close(),
    };
  } catch (e) {
    reader.close();
    throw e;
  }
}

/**
 * All tensors collected into a float32 Checkpoint (quantized matrices expanded): for small models
 * and everything that needs host float weights. Large quantized models go through `tensors`.
 */
export async function checkpointFromGguf(model: GgufModel): Promise<Checkpoint> {
  const values = new Map<TensorName, Float32Array>();
  for await (const t of model.tensors) values.set(t.name, t.value instanceof Float32Array ? t.value : dequantize(t.value));
  const c = model.config;
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const layer: Partial<LayerArrays> = {};
    for (const [t, field] of Object.entries(LAYER_FIELDS)) layer[field] = values.get(`layers.${l}.${t as LayerTensorName}`)!;
    return layer as LayerArrays;
  });
  return {
    config: c,
    format: 'gguf',
    tokenEmbedding: values.get('token_embedding')!,
    layers,
    rmsFinal: values.get('rms_final')!,
    classifier: c.sharedClassifier ? null : values.get('classifier')!,
  };
}
