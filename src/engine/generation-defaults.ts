/**
 * Sampling defaults of the reference program, and the prompt's chunk size. A module of its own,
 * free of TensorFlow.js, so the page's widgets and the memory plan can use them without bundling
 * the engine into the main thread.
 */
export const GENERATION_DEFAULTS = { steps: 256, temperature: 1, topP: 0.9, alternatives: 5 } as const;

/**
 * The most prompt tokens run through the model at once (prefill.ts). A longer prompt goes through
 * in chunks, each appended to the cache before the next, so the working tensors (the largest:
 * the logits of every row, [chunk, vocab], 64 MiB at Llama 2's vocabulary) are those of one chunk
 * however long the prompt: what the memory plan counts (memory-plan.ts).
 */
export const PREFILL_CHUNK = 512;
