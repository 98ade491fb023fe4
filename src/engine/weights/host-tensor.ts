import type { QuantizedMatrix } from '../quant/blocks.ts';

/** A transformer block's tensors, named as llama2.c's checkpoints order them. */
export type LayerTensorName = 'rms_att' | 'wq' | 'wk' | 'wv' | 'wo' | 'rms_ffn' | 'w1' | 'w2' | 'w3';

/** Every weight's name, whatever file it came from (GGUF's names are mapped onto these). */
export type TensorName = 'token_embedding' | 'rms_final' | 'classifier' | `layers.${number}.${LayerTensorName}`;

/**
 * One weight tensor in host memory, in llama2.c's layout: matrices row-major [out, in] (y = W x),
 * q and k rows in llama2.c's RoPE pair order. Loaders hand these over one at a time, so a model
 * larger than any single buffer is never held whole: the backend keeps each as it arrives.
 * Matrices are float32 or still block-quantized (never expanded to float32 on the way).
 */
export interface HostTensor {
  name: TensorName;
  /** [n] for vectors, [rows, cols] = [out, in] for matrices. */
  shape: number[];
  value: Float32Array | QuantizedMatrix;
}
