import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_ORDER, selectBackend, type BackendName, type BackendReport } from '../engine/backend.ts';
import { EngineError } from '../engine/errors.ts';
import { installNodeWebGPU } from './webgpu.ts';

export type BackendChoice = BackendName | 'auto';

export function parseBackend(value: string): BackendChoice {
  if (value === 'auto' || (BACKEND_ORDER as string[]).includes(value)) return value as BackendChoice;
  throw new EngineError('bad-argument', `--backend: expected auto, ${BACKEND_ORDER.join(', ')}; got "${value}"`);
}

/** Node tools: quiet TF.js (prod mode drops its Node banner), WebGPU through Dawn when asked for. */
export async function useNodeBackend(choice: BackendChoice): Promise<BackendReport> {
  tf.enableProdMode();
  if (choice === 'webgpu') await installNodeWebGPU();
  return selectBackend({ prefer: choice });
}
