import '../node/gradients.ts';
import type { BackendName } from '../engine/backend.ts';
import type { LlamaConfig } from '../engine/config.ts';
import { useNodeBackend } from '../node/backend.ts';
import { median } from '../node/machine.ts';
import { initialCheckpoint } from '../train/init.ts';
import { PAPER_RECIPE, Trainer } from '../train/trainer.ts';

/**
 * Training tokens/s for a shape: optimizer steps on random-token windows (speed does not depend
 * on the text), median over `steps` after one warm-up step.
 */
export async function benchTraining(backend: BackendName, config: LlamaConfig, batchSize: number, steps: number): Promise<number> {
  await useNodeBackend(backend);
  let seed = 1;
  const stream = Int32Array.from({ length: 64 * config.seqLen }, () => (seed = (seed * 48271) % 2147483647) % config.vocabSize);
  const trainer = new Trainer(
    { steps: steps + 1, batchSize, peakLr: 1e-3, warmupSteps: 1, ...PAPER_RECIPE, evalEvery: 1e9, evalWindows: 1, seed: 1 },
    initialCheckpoint(config, 1),
    stream,
    stream,
  );
  await trainer.trainStep();
  const rates: number[] = [];
  while (!trainer.done) rates.push((await trainer.trainStep()).tokensPerSecond);
  trainer.dispose();
  return median(rates);
}
