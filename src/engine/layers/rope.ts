import * as tf from '@tensorflow/tfjs-core';
import { headSize, type LlamaConfig } from '../config.ts';

/**
 * Rotary position embedding tables. Pair i of a head (dims 2i, 2i+1) turns by the angle
 * pos · θ^(-2i/d). Angles are computed in float32 exactly as llama2.c does so the tables are
 * bit-identical to the reference. Each table row is laid out per element, pairs repeated:
 * cos = [c0, c0, c1, c1, ...], sin = [-s0, s0, -s1, s1, ...] (the sign folds in the rotation).
 */
export interface RopeTables {
  cos: tf.Tensor2D; // [seqLen, headSize]
  sin: tf.Tensor2D; // [seqLen, headSize], signed as above
}

export function ropeFrequency(pair: number, headDim: number, theta: number): number {
  const f = Math.fround;
  return f(1 / f(Math.pow(theta, f(f(2 * pair) / headDim))));
}

export function ropeAngles(c: LlamaConfig): { cos: Float32Array; sin: Float32Array } {
  const hs = headSize(c);
  const cos = new Float32Array(c.seqLen * hs);
  const sin = new Float32Array(c.seqLen * hs);
  for (let pos = 0; pos < c.seqLen; pos++) {
    for (let i = 0; i < hs / 2; i++) {
      const angle = Math.fround(pos * ropeFrequency(i, hs, c.ropeTheta));
      const at = pos * hs + 2 * i;
      cos[at] = cos[at + 1] = Math.cos(angle);
      sin[at] = -Math.sin(angle);
      sin[at + 1] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export function ropeTables(c: LlamaConfig): RopeTables {
  const hs = headSize(c);
  const { cos, sin } = ropeAngles(c);
  return { cos: tf.tensor2d(cos, [c.seqLen, hs]), sin: tf.tensor2d(sin, [c.seqLen, hs]) };
}

/** The table rows for `count` positions from `start`, shaped [count, 1, headSize] to broadcast over heads. */
export interface RopeRows {
  cos: tf.Tensor3D;
  sin: tf.Tensor3D;
}

/**
 * The positions one forward pass rotates by: start..start+count-1. A fused kernel reads the
 * tables directly; composite ops use `rows()`, sliced once per forward pass and shared by all
 * layers (the first call must come from the forward pass's scope, not a nested tidy).
 */
export class RopePositions {
  private sliced: RopeRows | null = null;
  constructor(
    readonly tables: RopeTables,
    readonly start: number,
    readonly count: number,
    private position: tf.Tensor1D | null = null,
  ) {}

  /**
   * `start` as an int32 [1] tensor, for the kernels that read the position on the device
   * (kernels/webgpu/position.ts): given (a recorded decode step's), or made once per forward
   * pass (the same scope rule as rows()).
   */
  tensor(): tf.Tensor1D {
    return (this.position ??= tf.tensor1d([this.start], 'int32'));
  }

  rows(): RopeRows {
    if (!this.sliced) {
      const hs = this.tables.cos.shape[1];
      const rows = (m: tf.Tensor2D) =>
        tf.reshape(tf.slice(m, [this.start, 0], [this.count, hs]), [this.count, 1, hs]) as tf.Tensor3D;
      this.sliced = { cos: rows(this.tables.cos), sin: rows(this.tables.sin) };
    }
    return this.sliced;
  }
}

/**
 * Rotates every adjacent pair (x0, x1) → (x0 cos − x1 sin, x0 sin + x1 cos), with the signed
 * tables above. x: [tokens, heads, headSize]; cos, sin: [tokens, 1, headSize].
 * Rotating by −angle (negated sin) is the transpose, which is also the gradient.
 */
export function rotatePairs(x: tf.Tensor3D, cos: tf.Tensor3D, sin: tf.Tensor3D): tf.Tensor3D {
  const [t, h, hs] = x.shape;
  const swapped = tf.reshape(tf.reverse(tf.reshape(x, [t, h, hs / 2, 2]), -1), [t, h, hs]);
  return tf.add(tf.mul(x, cos), tf.mul(swapped, sin));
}
