/**
 * A GGUF file's tensors as the memory plan counts them, from the header alone: each type's
 * storage on the backend, or, with `quant`, the format float matrices will be quantized to.
 */
import type { QuantFormat } from '../quant/blocks.ts';
import { paddedElements, type PlannedTensor } from '../memory-plan.ts';
import type { GgufTensorEntry } from './read-gguf.ts';

export function ggufPlannedTensors(entries: GgufTensorEntry[], quant?: QuantFormat): PlannedTensor[] {
  return entries.map((e) => {
    const float = e.stored === 'f32' || e.stored === 'f16';
    if (!quant || e.shape.length !== 2 || !float) return { name: e.name, elements: e.elements, format: e.stored };
    // Float matrices quantized on arrival.
    return { name: e.name, elements: paddedElements(e.shape[0], e.shape[1]), format: quant };
  });
}
