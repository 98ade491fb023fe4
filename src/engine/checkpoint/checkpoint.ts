import type { LlamaConfig } from '../config.ts';
import type { TensorName } from '../weights/host-tensor.ts';

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
  /** How the file stored the weights (float32, or int8 groups dequantized at load). */
  format: 'llama2c-v0' | 'llama2c-v2-int8';
  tokenEmbedding: Float32Array;
  layers: LayerArrays[];
  rmsFinal: Float32Array;
  /** Null when the classifier shares the token-embedding matrix. */
  classifier: Float32Array | null;
}

/** Every named tensor with its shape, in file order: for `inspect`, memory reports and the weight uploader. */
export function checkpointTensors(ck: Checkpoint): { name: TensorName; shape: number[]; data: Float32Array }[] {
  const c = ck.config;
  const out: { name: TensorName; shape: number[]; data: Float32Array }[] = [
    { name: 'token_embedding', shape: [c.vocabSize, c.dim], data: ck.tokenEmbedding },
  ];
  ck.layers.forEach((l, i) => {
    const kv = (c.dim * c.nKvHeads) / c.nHeads;
    out.push(
      { name: `layers.${i}.rms_att`, shape: [c.dim], data: l.rmsAtt },
      { name: `layers.${i}.wq`, shape: [c.dim, c.dim], data: l.wq },
      { name: `layers.${i}.wk`, shape: [kv, c.dim], data: l.wk },
      { name: `layers.${i}.wv`, shape: [kv, c.dim], data: l.wv },
      { name: `layers.${i}.wo`, shape: [c.dim, c.dim], data: l.wo },
      { name: `layers.${i}.rms_ffn`, shape: [c.dim], data: l.rmsFfn },
      { name: `layers.${i}.w1`, shape: [c.hiddenDim, c.dim], data: l.w1 },
      { name: `layers.${i}.w2`, shape: [c.dim, c.hiddenDim], data: l.w2 },
      { name: `layers.${i}.w3`, shape: [c.hiddenDim, c.dim], data: l.w3 },
    );
  });
  out.push({ name: 'rms_final', shape: [c.dim], data: ck.rmsFinal });
  if (ck.classifier) out.push({ name: 'classifier', shape: [c.vocabSize, c.dim], data: ck.classifier });
  return out;
}
