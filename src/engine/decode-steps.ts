import * as tf from '@tensorflow/tfjs-core';
import { StepRecording, type EncodedReplay } from './kernels/webgpu/step-recording.ts';
import { InPlaceKVCache, type KVCache } from './kv-cache.ts';
import type { LlamaModel } from './model.ts';

/** A submitted step's outputs: its logits, and (replays) the GPU's greedy choice from them. */
interface Submitted {
  logits: tf.Tensor2D;
  choice: tf.Tensor | null;
}

/** The recorded step's inputs and outputs: the buffers every replay reads and writes. */
interface Recorded {
  recording: StepRecording;
  /** int32 [1]: the token, embedded on the GPU (TokenEmbedding.gather). */
  ids: tf.Tensor1D;
  /** int32 [1]: the position (kernels/webgpu/position.ts). */
  position: tf.Tensor1D;
  logits: tf.Tensor2D;
  /** int32 [1]: argmax of the logits, which a step run ahead embeds. */
  choice: tf.Tensor1D;
}

/**
 * Decoding: one token per step, each at the position after those in the cache. On webgpu
 * the first step is recorded and every later one replays it (kernels/webgpu/step-recording.ts):
 * the same kernels on the same buffers, with only the token and the position written anew, so a
 * step costs the GPU's work instead of a few hundred launches' JavaScript. Elsewhere a step is
 * `model.forward`.
 *
 * A recorded step also takes the argmax of its logits on the GPU. Greedy decoding (`read` with
 * `runAhead`) submits the next step on that choice before reading this one's logits back, so
 * the GPU computes step n + 1 while JavaScript waits for, reads and samples step n: without it
 * the GPU idles for every round trip. The step run ahead counts only if the sampler, which
 * stays the reference, chose the same token; otherwise it is forgotten (the cache rewound) and
 * the step is run again on the sampler's token.
 */
export class DecodeSteps {
  private recorded: Recorded | null = null;
  /** The next step's replay, encoded while the GPU runs the last one. */
  private next: EncodedReplay | null = null;
  /** A step submitted on the GPU's choice, before the sampler's was known. */
  private ahead: (Submitted & { position: number; token: number | null }) | null = null;
  /** Steps run ahead that were used, and those forgotten. */
  readonly runAhead = { used: 0, forgotten: 0 };
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
    this.forget();
    const { logits, choice } = this.submit(token, position);
    choice?.dispose();
    return logits;
  }

  /**
   * The logits of `token` at `position`, read back. `runAhead`: a greedy decoder's next step is
   * submitted before the read, on the GPU's choice (where steps are replayed and the context has
   * room); the next call uses it if it asks for that token.
   */
  async read(token: number, position: number, runAhead: boolean): Promise<Float32Array> {
    let step: Submitted;
    if (this.ahead && this.ahead.position === position && this.ahead.token === token) {
      step = this.ahead;
      this.ahead = null;
      this.runAhead.used++;
    } else {
      this.forget();
      step = this.submit(token, position);
    }
    // Reading queues the copies to readable buffers at once: before the step run ahead, so the
    // GPU hands this step's logits back without waiting for that one.
    const reading = Promise.all([step.logits.data(), step.choice?.data()]);
    if (runAhead && step.choice && position + 1 < this.cache.capacity) this.ahead = { ...this.replayStep(null, position + 1), position: position + 1, token: null };
    try {
      const [logits, choice] = await reading;
      if (this.ahead && choice) this.ahead.token = choice[0];
      return logits as Float32Array;
    } finally {
      disposeStep(step);
    }
  }

  /** Forgets a step run ahead, its position taken back from the cache. */
  private forget(): void {
    const ahead = this.ahead;
    if (!ahead) return;
    this.ahead = null;
    disposeStep(ahead);
    (this.cache as InPlaceKVCache).rewind(ahead.position);
    this.runAhead.forgotten++;
  }

  private submit(token: number, position: number): Submitted {
    if (position !== this.cache.length) throw new RangeError(`a decode step at position ${position} does not follow the ${this.cache.length} positions in the cache`);
    if (!this.replayable(position)) return { logits: this.model.forward([token], position, this.cache), choice: null };
    if (this.recorded) return this.replayStep(token, position);
    const ids = tf.tensor1d([token], 'int32');
    const at = tf.tensor1d([position], 'int32');
    const { result, recording, reason } = StepRecording.record([ids, at], () =>
      tf.tidy(() => {
        const logits = this.model.forwardEmbedded(this.model.weights.tokenEmbedding.gather(ids), this.model.positions(position, 1, at), this.cache);
        return { logits, choice: tf.argMax(logits, 1) as tf.Tensor1D };
      }),
    );
    if (!recording) {
      this.refused = reason ?? 'not recorded';
      result.choice.dispose();
      tf.dispose([ids, at]);
      return { logits: result.logits, choice: null };
    }
    this.recorded = { recording, ids, position: at, ...result };
    this.encodeNext(position + 1);
    // A clone shares the recorded buffer, which the next replay overwrites: read it before
    // submitting another step, so none is run ahead of this one.
    return { logits: tf.clone(result.logits), choice: null };
  }

  /** Replays the recorded step at `position` on `token`, or (null) on the last step's choice. */
  private replayStep(token: number | null, position: number): Submitted {
    const r = this.recorded!;
    const encoded = this.next ?? this.encode(r);
    this.next = null;
    const ids = token === null ? r.choice : tf.tensor1d([token], 'int32');
    const at = tf.tensor1d([position], 'int32');
    const [logits, choice] = r.recording.submit(encoded, [
      [ids, r.ids],
      [at, r.position],
    ]);
    (this.cache as InPlaceKVCache).advance(1);
    tf.dispose(token === null ? [at] : [ids, at]);
    this.encodeNext(position + 1);
    return { logits: logits as tf.Tensor2D, choice };
  }

  /** Encodes the step at `position` ahead, while the GPU runs the one just submitted. */
  private encodeNext(position: number): void {
    if (this.recorded && position < this.cache.capacity) this.next = this.encode(this.recorded);
  }

  /** A replay handing out copies of the logits and the GPU's choice. */
  private encode(r: Recorded): EncodedReplay {
    return r.recording.encode([r.logits, r.choice]);
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

  /** Frees the recording; a step still run ahead is forgotten, so the cache holds only steps read. */
  dispose(): void {
    this.forget();
    this.discardNext();
    if (!this.recorded) return;
    const { recording, ids, position, logits, choice } = this.recorded;
    recording.dispose();
    tf.dispose([ids, position, logits, choice]);
    this.recorded = null;
  }
}

function disposeStep({ logits, choice }: Submitted): void {
  logits.dispose();
  choice?.dispose();
}
