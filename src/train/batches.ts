import { XorShiftRng } from '../engine/sampling/rng.ts';

/**
 * Pretraining batches as the paper packs them: all stories tokenized and concatenated into one
 * stream with BOS before each story, cut into windows of seqLen + 1 tokens (input and shifted
 * target). Windows start at random offsets drawn from a seeded generator, so a run is reproducible
 * and can resume mid-epoch from its RNG state.
 */
export class PackedBatches {
  private readonly rng: XorShiftRng;

  constructor(
    readonly stream: Int32Array,
    readonly seqLen: number,
    seed: number | bigint,
  ) {
    if (stream.length < seqLen + 1) throw new RangeError(`training text has ${stream.length} tokens, fewer than one window of ${seqLen + 1}`);
    this.rng = new XorShiftRng(seed);
  }

  /** One window: tokens[0..seqLen) is the input, tokens[1..seqLen] the targets. */
  next(): number[] {
    const span = this.stream.length - this.seqLen - 1;
    const start = span === 0 ? 0 : this.rng.nextU32() % (span + 1);
    return Array.from(this.stream.subarray(start, start + this.seqLen + 1));
  }

  get rngState(): bigint {
    return this.rng.state;
  }
}

/** Concatenates encoded stories, each starting with BOS. */
export function packStories(encoded: number[][]): Int32Array {
  const total = encoded.reduce((n, s) => n + s.length, 0);
  const out = new Int32Array(total);
  let at = 0;
  for (const s of encoded) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}
