/**
 * Chapter 4's uptraining recipe, shared by the worker task and the page's description of it: the
 * paper's AdamW and schedule (src/train), a short warmup and a fine-tuning-sized peak rate.
 */
export const UPTRAIN_RECIPE = { batchSize: 4, peakLr: 1e-3, warmupSteps: 4, seed: 1 } as const;
