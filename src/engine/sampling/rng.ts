/**
 * llama2.c's xorshift* generator, bit for bit: a 64-bit state, s ^= s >> 12; s ^= s << 25;
 * s ^= s >> 27; output the top 32 bits of s · 0x2545F4914F6CDD1D. BigInt keeps all 64 bits.
 */
const MASK64 = (1n << 64n) - 1n;
const MULTIPLIER = 0x2545f4914f6cdd1dn;

export class XorShiftRng {
  /** The whole generator state: pass it back as the seed to resume the same sequence. */
  state: bigint;
  constructor(seed: number | bigint) {
    this.state = BigInt(seed) & MASK64;
  }
  nextU32(): number {
    let s = this.state;
    s ^= s >> 12n;
    s ^= (s << 25n) & MASK64;
    s ^= s >> 27n;
    this.state = s;
    return Number(((s * MULTIPLIER) & MASK64) >> 32n);
  }
  /** A float32 in [0, 1) from the top 24 bits. */
  nextFloat32(): number {
    return Math.fround((this.nextU32() >>> 8) / 16777216);
  }
}
