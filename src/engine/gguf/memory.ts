/**
 * A GGUF file's tensors as the memory plan counts them, from the header alone: each type's
 * storage on the backend, or, with `quant`, the format float matrices will be quantized to.
 */
import type { QuantFormat } from '../quant/blocks.ts';
import type { PlannedTensor, StorageFormat } from '../memory-plan.ts';
import type { GgufTensorEntry } from './read-gguf.ts';

/** Q6_K is kept as Q8_0 (see tensor-types.ts). */
const STORED_AS: Record<string, StorageFormat> = { F32: 'f32', F16: 'f16', Q8_0: 'q8_0', Q4_0: 'q4_0', Q6_K: 'q8_0' };

export function ggufPlannedTensors(entries: GgufTensorEntry[], quant?: QuantFormat): PlannedTensor[] {
  return entries.map((e) => {
    const stored = STORED_AS[e.type];
    if (!quant || e.shape.length !== 2 || (stored !== 'f32' && stored !== 'f16')) return { name: e.name, elements: e.elements, format: stored };
    // Float matrices quantized on arrival, rows padded to whole 32-blocks.
    const [rows, cols] = e.shape;
    return { name: e.name, elements: rows * Math.ceil(cols / 32) * 32, format: quant };
  });
}
