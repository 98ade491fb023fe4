import type { LlamaConfig } from '../config.ts';
import type { LayerTensorName, TensorName } from '../weights/host-tensor.ts';

/** One transformer block's weights as stored: matrices are row-major [out, in] (y = W x). */
export interface LayerArrays {
  rmsAtt: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  rmsFfn: Float32Array;
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
}

/** A checkpoint in host memory, whatever file format it came from. */
export interface Checkpoint {
  config: LlamaConfig;
  /** How the file stored the weights (float32, or int8 groups dequantized at load; GGUF: any of its types). */
  format: 'llama2c-v0' | 'llama2c-v2-int8' | 'gguf';
  tokenEmbedding: Float32Array;
  layers: LayerArrays[];
  rmsFinal: Float32Array;
  /** Null when the classifier shares the token-embedding matrix. */
  classifier: Float32Array | null;
}

/** The Checkpoint field holding each layer tensor. */
export const LAYER_FIELDS: Record<LayerTensorName, keyof LayerArrays> = {
  rms_att: 'rmsAtt',
  wq: 'wq',
  wk: 'wk',
  wv: 'wv',
  wo: 'wo',
  rms_ffn: 'rmsFfn',
  w1: 'w1',
  w2: 'w2',
  w3: 'w3',
};
const LAYER_ORDER = Object.keys(LAYER_FIELDS) as LayerTensorName[];

/** The shape of every tensor of a model: [n] for vectors, [out, in] for matrices. */
export function tensorShape(name: TensorName, c: LlamaConfig): number[] {
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  if (name === 'token_embedding' || name === 'classifier') return [c.vocabSize, c.dim];
  if (name === 'rms_final') return [c.dim];
  const shapes: Record<LayerTensorName, number[]> = {
    rms_att: [c.dim],
    wq: [c.dim, c.dim],
    wk: [kv, c.dim],
    wv: [kv, c.dim],
    wo: [c.dim, c.dim],
    rms_ffn: [c.dim],
    w1: [c.hiddenDim, c.dim],
    w2: [c.dim, c.hiddenDim],
    w3: [c.hiddenDim, c.dim],
  };
  return shapes[name.split('.')[2] as LayerTensorName];
}

/** Every tensor a model of this shape has, in llama2.c's file order. */
export function tensorNames(c: LlamaConfig): TensorName[] {
  const names: TensorName[] = ['token_embedding'];
  for (let i = 0; i < c.nLayers; i++) for (const t of LAYER_ORDER) names.push(`layers.${i}.${t}`);
  names.push('rms_final');
  if (!c.sharedClassifier) names.push('classifier');
  return names;
}

/** Every named tensor with its shape, in file order: for `inspect` and memory reports. */
export function checkpointTensors(ck: Checkpoint): { name: TensorName; shape: number[]; data: Float32Array }[] {
  const c = ck.config;
  const entry = (name: TensorName, data: Float32Array) => ({ name, shape: tensorShape(name, c), data });
  const out = [entry('token_embedding', ck.tokenEmbedding)];
  ck.layers.forEach((l, i) => {
    for (const t of LAYER_ORDER) out.push(entry(`layers.${i}.${t}`, l[LAYER_FIELDS[t]]));
  });
  out.push(entry('rms_final', ck.rmsFinal));
  if (ck.classifier) out.push(entry('classifier', ck.classifier));
  return out;
}
