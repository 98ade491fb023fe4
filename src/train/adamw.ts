import * as tf from '@tensorflow/tfjs-core';

/** The paper's optimizer settings (§2.2): β1 0.9, β2 0.95, ε 1e-5, weight decay 0.1. */
export const PAPER_ADAMW = { beta1: 0.9, beta2: 0.95, epsilon: 1e-5, weightDecay: 0.1 } as const;

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

export interface AdamWParameter {
  name: string;
  variable: tf.Variable;
  /** Matrices decay; norm gains do not (as in llama2.c's train.py). */
  decay: boolean;
}

/**
 * AdamW (Loshchilov & Hutter): Adam moments with bias correction, and weight decay applied to the
 * weights directly (decoupled), not added to the gradient.
 */
export class AdamW {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  step = 0;

  constructor(
    readonly params: AdamWParameter[],
    readonly options: AdamWOptions = PAPER_ADAMW,
  ) {
    this.m = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
    this.v = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
  }

  /** grads[i] belongs to params[i]; the caller disposes them. */
  apply(grads: tf.Tensor[], lr: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    this.step++;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), epsilon));
        const decayed = p.decay ? tf.mul(p.variable, 1 - lr * weightDecay) : p.variable;
        p.variable.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** Scales gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export async function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): Promise<{ clipped: tf.Tensor[]; norm: number }> {
  // Pairwise adds, not addN: WebGPU's addN binds every input at once, past the 8-buffer limit.
  const normT = tf.tidy(() => tf.sqrt(grads.map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b))));
  const norm = (await normT.data())[0];
  normT.dispose();
  if (!(norm > maxNorm)) return { clipped: grads, norm };
  const scale = maxNorm / (norm + 1e-6);
  return { clipped: grads.map((g) => tf.mul(g, scale)), norm };
}
