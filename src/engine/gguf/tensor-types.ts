import { GGMLQuantizationType } from '@huggingface/gguf';
import { BLOCK, type QuantFormat } from '../quant/blocks.ts';
import { Q6K_BLOCK, Q6K_BLOCK_BYTES } from './q6k.ts';

/** The GGML tensor types this engine reads and writes; every other type is refused by name. */
export const GGML_F32 = GGMLQuantizationType.F32;
export const GGML_F16 = GGMLQuantizationType.F16;
export const GGML_Q4_0 = GGMLQuantizationType.Q4_0;
export const GGML_Q8_0 = GGMLQuantizationType.Q8_0;
/**
 * Read only, converted to Q8_0 at load (q6k.ts): llama.cpp stores the classifier (output.weight)
 * of its Q4_0 and Q8_0 files as Q6_K unless told `--pure`, so without it the usual
 * Llama-2-7B Q4_0 download would not load.
 */
export const GGML_Q6_K = GGMLQuantizationType.Q6_K;

export type SupportedType = typeof GGML_F32 | typeof GGML_F16 | typeof GGML_Q4_0 | typeof GGML_Q8_0 | typeof GGML_Q6_K;

/** A quantized block in the file: a half-precision d, then the 32 weights' integers (bytes or nibbles). */
export const BLOCK_BYTES: Record<QuantFormat, number> = { q8_0: 2 + 32, q4_0: 2 + 16 };

/** The packed format a quantized type is kept in on the device (Q6_K becomes Q8_0). */
export const QUANT_FORMAT_OF: Partial<Record<number, QuantFormat>> = { [GGML_Q8_0]: 'q8_0', [GGML_Q4_0]: 'q4_0', [GGML_Q6_K]: 'q8_0' };
export const GGML_TYPE_OF: Record<QuantFormat, SupportedType> = { q8_0: GGML_Q8_0, q4_0: GGML_Q4_0 };

/** "Q6_K", "BF16"... as llama.cpp names them; a number outside the known set is shown as such. */
export function ggmlTypeName(type: number): string {
  return GGMLQuantizationType[type] ?? `unknown type ${type}`;
}

export function isSupportedType(type: number): type is SupportedType {
  return type === GGML_F32 || type === GGML_F16 || type === GGML_Q4_0 || type === GGML_Q8_0 || type === GGML_Q6_K;
}

/** Bytes of a tensor of `elements` values stored as `type` (quantized: elements is a multiple of 32). */
export function storedBytes(type: SupportedType, elements: number): number {
  if (type === GGML_F32) return 4 * elements;
  if (type === GGML_F16) return 2 * elements;
  if (type === GGML_Q6_K) return (elements / Q6K_BLOCK) * Q6K_BLOCK_BYTES;
  return (elements / BLOCK) * BLOCK_BYTES[QUANT_FORMAT_OF[type]!];
}
