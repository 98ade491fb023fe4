import * as tf from '@tensorflow/tfjs-core';
import { StepRecording, type EncodedReplay } from './kernels/webgpu/step-recording.ts';
import { InPlaceKVCache, type KVCache } from './kv-cache.ts';
import type { LlamaModel } from './model.ts';

/**
 * Decoding: one token per step, each at the position after those in the cache. On webgpu
 * the first step is recorded and every later one replays it (kernels/webgpu/step-recording.ts):
 * the same kernels on the same buffers, with only the token's embedding row and the position
 * written anew, so a step costs the GPU's work instead of a few hundred launches' JavaScript.
 * Elsewhere a step is `model.forward`.
 */
export class DecodeSteps {
  private recorded: { recording: StepRecording; x: tf.Tensor2D; position: tf.Tensor1D; logits: tf.Tensor2D } | null = null;
  /** The next step's replay, encoded while the GPU runs the last one. */
  private next: EncodedReplay | null = null;
  /** Why steps are not replayed, once a recording was tried and refused. */
  refused: string | null = null;

  constructor(
    readonly model: LlamaModel,
    readonly cache: KVCache,
    /** False: every step runs `model.forward` (the reference a replay is measured against). */
    readonly replay = true,
  ) {}

  /** Launches a replay runs, once a step is recorded. */
  get launches(): number | null {
    return this.recorded?.recording.size ?? null;
  }

  /** Logits [1, vocab] of `token` at `position`; the caller disposes them. */
  forward(token: number, position: number): tf.Tensor2D {
    if (position !== this.cache.length) throw new RangeError(`a decode step at position ${position} does not follow the ${this.cache.length} positions in the cache`);
    if (!this.replayable(position)) return this.model.forward([token], position, this.cache);
    const x = tf.tidy(() => this.model.weights.tokenEmbedding.lookup([token]));
    const at = tf.tensor1d([position], 'int32');
    if (this.recorded) {
      const { recording } = this.recorded;
      const encoded = this.next ?? recording.encode([this.recorded.logits]);
      this.next = null;
      const [logits] = recording.submit(encoded, [[x, this.recorded.x], [at, this.recorded.position]]);
      (this.cache as InPlaceKVCache).advance(1);
      tf.dispose([x, at]);
      this.encodeNext(position + 1);
      return logits as tf.Tensor2D;
    }
    const { result, recording, reason } = StepRecording.record([x, at], () => this.model.forwardEmbedded(x, this.model.positions(position, 1, at), this.cache));
    if (!recording) {
      this.refused = reason ?? 'not recorded';
      tf.dispose([x, at]);
      return result;
    }
    this.recorded = { recording, x, position: at, logits: result };
    this.encodeNext(position + 1);
    return tf.clone(result);
  }

  /** Encodes the step at `position` ahead, while the GPU runs the one just submitted. */
  private encodeNext(position: number): void {
    if (this.recorded && position < this.cache.capacity) this.next = this.recorded.recording.encode([this.recorded.logits]);
  }

  private discardNext(): void {
    if (this.next) this.recorded?.recording.discard(this.next);
    this.next = null;
  }

  /** A step can be recorded or replayed on webgpu with an in-place cache whose buffers exist (a recorded step must not allocate them). */
  private replayable(position: number): boolean {
    return (
      this.replay &&
      this.refused === null &&
      StepRecording.available() &&
      this.cache instanceof InPlaceKVCache &&
      position > 0 &&
      position < this.cache.capacity
    );
  }

  dispose(): void {
    this.discardNext();
    if (!this.recorded) return;
    this.recorded.recording.dispose();
    tf.dispose([this.recorded.x, this.recorded.position, this.recorded.logits]);
    this.recorded = null;
  }
}
