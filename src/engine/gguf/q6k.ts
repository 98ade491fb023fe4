/**
 * GGUF's Q6_K super-blocks, read only: 256 weights as 6-bit integers q − 32 in 16 groups of 16,
 * each group with an int8 scale, all under one half-precision d; weight = d · scale · (q − 32).
 * Layout per super-block (210 bytes, ggml-common.h's block_q6_K): ql[128] the low 4 bits,
 * qh[64] the high 2 bits, scales[16] int8, d f16. Weight e of a super-block (e = 128h + 32g + l,
 * h = half, g = 0..3, l = 0..31) takes its low nibble from ql[64h + l + 32(g & 1)] (low nibble for
 * g < 2, high for g ≥ 2), its high bits from qh[32h + l] >> 2g, and scale[e >> 4].
 */
export const Q6K_BLOCK = 256;
export const Q6K_BLOCK_BYTES = 128 + 64 + 16 + 2;

/** `elements` weights (a multiple of 256) from Q6_K bytes, with `halves` mapping f16 bits to float. */
export function dequantizeQ6K(bytes: Uint8Array, elements: number, halves: Float32Array): Float32Array {
  const out = new Float32Array(elements);
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < elements / Q6K_BLOCK; b++) {
    const at = b * Q6K_BLOCK_BYTES;
    const ql = at;
    const qh = at + 128;
    const sc = at + 192;
    const d = halves[bytes[at + 208] | (bytes[at + 209] << 8)];
    const y = b * Q6K_BLOCK;
    for (let e = 0; e < Q6K_BLOCK; e++) {
      const h = e >> 7;
      const g = (e >> 5) & 3;
      const l = e & 31;
      const low = bytes[ql + 64 * h + l + 32 * (g & 1)];
      const nibble = g < 2 ? low & 0x0f : low >> 4;
      const high = (bytes[qh + 32 * h + l] >> (2 * g)) & 3;
      out[y + e] = d * signed[sc + (e >> 4)] * ((nibble | (high << 4)) - 32);
    }
  }
  return out;
}
