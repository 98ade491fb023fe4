/**
 * Sampling defaults of the reference program. A module of its own, free of TensorFlow.js, so the
 * page's widgets can show them without bundling the engine into the main thread.
 */
export const GENERATION_DEFAULTS = { steps: 256, temperature: 1, topP: 0.9, alternatives: 5 } as const;
