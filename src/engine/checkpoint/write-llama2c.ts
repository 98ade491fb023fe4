import { headSize } from '../config.ts';
import type { Checkpoint } from './checkpoint.ts';
import { LEGACY_HEADER_BYTES } from './header.ts';

/**
 * Serializes a checkpoint in llama2.c's version-0 layout (what run.c reads): the 7-int header,
 * then float32 tensors grouped by kind across layers, the legacy RoPE tables, and the classifier
 * when it is not shared.
 */
export function writeLlama2cV0(ck: Checkpoint): Uint8Array {
  const c = ck.config;
  const ropeHalf = (c.seqLen * headSize(c)) / 2;
  const parts: Float32Array[] = [
    ck.tokenEmbedding,
    ...ck.layers.map((l) => l.rmsAtt),
    ...ck.layers.map((l) => l.wq),
    ...ck.layers.map((l) => l.wk),
    ...ck.layers.map((l) => l.wv),
    ...ck.layers.map((l) => l.wo),
    ...ck.layers.map((l) => l.rmsFfn),
    ...ck.layers.map((l) => l.w1),
    ...ck.layers.map((l) => l.w2),
    ...ck.layers.map((l) => l.w3),
    ck.rmsFinal,
    ...legacyRopeTables(c.seqLen, headSize(c), c.ropeTheta, ropeHalf),
    ...(ck.classifier ? [ck.classifier] : []),
  ];
  const floats = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(LEGACY_HEADER_BYTES + 4 * floats);
  const view = new DataView(out.buffer);
  const header = [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.sharedClassifier ? c.vocabSize : -c.vocabSize, c.seqLen];
  header.forEach((v, i) => view.setInt32(4 * i, v, true));
  let at = LEGACY_HEADER_BYTES;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  return out;
}

/** run.c skips these, but older readers use them: the cos and sin of every (position, pair). */
function legacyRopeTables(seqLen: number, hs: number, theta: number, count: number): [Float32Array, Float32Array] {
  const cos = new Float32Array(count);
  const sin = new Float32Array(count);
  for (let pos = 0; pos < seqLen; pos++) {
    for (let i = 0; i < hs / 2; i++) {
      const angle = pos / Math.pow(theta, (2 * i) / hs);
      cos[pos * (hs / 2) + i] = Math.cos(angle);
      sin[pos * (hs / 2) + i] = Math.sin(angle);
    }
  }
  return [cos, sin];
}
