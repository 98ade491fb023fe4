import * as tf from '@tensorflow/tfjs-core';
import { type BackendName } from '../../src/engine/backend.ts';
import { Llama } from '../../src/engine/llama.ts';
import { useNodeBackend } from '../../src/node/backend.ts';
import { sharedBytes, TOK512 } from './shared.ts';

/** Loads a checkpoint from ../shared onto the active backend. */
export function loadShared(model: string, tokenizer = TOK512): Llama {
  return Llama.fromBytes(sharedBytes(model), model, sharedBytes(tokenizer), tokenizer);
}

/** Switches the process to `backend` the way the CLI does. */
export async function onBackend(backend: BackendName): Promise<void> {
  const report = await useNodeBackend(backend);
  if (report.name !== backend) throw new Error(`wanted ${backend}, got ${report.name}`);
  await tf.ready();
}
