import { parseLlama2c } from '../engine/checkpoint/llama2c.ts';
import { writeLlama2cV0 } from '../engine/checkpoint/write-llama2c.ts';
import type { TrainerState } from './trainer.ts';

/**
 * A training state as three files: the model as a plain llama2.c checkpoint (loadable by the
 * engine and by run.c), the Adam moments as raw float32, and the rest as JSON.
 */
export interface StateFiles {
  'model.bin': Uint8Array;
  'optimizer.bin': Uint8Array;
  'trainer.json': string;
}

export function encodeState(s: TrainerState): StateFiles {
  const moments = [...s.moments.m, ...s.moments.v];
  const total = moments.reduce((n, a) => n + a.length, 0);
  const packed = new Float32Array(total);
  moments.reduce((at, a) => (packed.set(a, at), at + a.length), 0);
  const { checkpoint: _c, moments: _m, ...rest } = s;
  return {
    'model.bin': writeLlama2cV0(s.checkpoint),
    'optimizer.bin': new Uint8Array(packed.buffer),
    'trainer.json': JSON.stringify({ ...rest, momentSizes: s.moments.m.map((a) => a.length) }),
  };
}

export function decodeState(files: StateFiles): TrainerState {
  const meta = JSON.parse(files['trainer.json']) as Omit<TrainerState, 'checkpoint' | 'moments'> & { momentSizes: number[] };
  const bytes = files['optimizer.bin'];
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const expected = 2 * meta.momentSizes.reduce((a, b) => a + b, 0);
  if (floats.length !== expected) throw new Error(`optimizer.bin: expected ${expected} floats, got ${floats.length}`);
  let at = 0;
  const take = () => meta.momentSizes.map((n) => floats.subarray(at, (at += n)));
  const m = take();
  const v = take();
  const { momentSizes: _s, ...rest } = meta;
  return { ...rest, checkpoint: parseLlama2c(files['model.bin'], 'model.bin'), moments: { m, v } };
}
