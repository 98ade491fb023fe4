/**
 * One fixed diverging colour scale for every tensor: blue for negative, a light neutral for zero,
 * red for positive (ColorBrewer RdBu, 11 classes). The same colours in light and dark mode, so a
 * value always looks the same; cells sit on their own frame, so the light midpoint stays visible
 * on a dark page.
 */

/** From −1 (deep blue) through 0 (neutral) to +1 (deep red). */
export const DIVERGING_STOPS = [
  '#053061',
  '#2166ac',
  '#4393c3',
  '#92c5de',
  '#d1e5f0',
  '#f7f7f7',
  '#fddbc7',
  '#f4a582',
  '#d6604d',
  '#b2182b',
  '#67001f',
] as const;

const RGB = DIVERGING_STOPS.map((hex) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)));

/** The colour of t ∈ [−1, 1] (clamped) as [r, g, b], linearly between the stops. NaN gives null. */
export function divergingRgb(t: number): [number, number, number] | null {
  if (Number.isNaN(t)) return null;
  const x = ((Math.max(-1, Math.min(1, t)) + 1) / 2) * (RGB.length - 1);
  const lo = Math.min(Math.floor(x), RGB.length - 2);
  const f = x - lo;
  const [a, b] = [RGB[lo], RGB[lo + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

export function divergingCss(t: number): string {
  const rgb = divergingRgb(t);
  return rgb ? `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})` : 'transparent';
}

/** Black or white text, whichever reads better on the colour of t (for labels drawn on cells). */
export function inkOn(t: number): '#000' | '#fff' {
  const rgb = divergingRgb(t);
  if (!rgb) return '#000';
  const luminance = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
  return luminance > 0.5 ? '#000' : '#fff';
}

/** A CSS gradient of the whole scale, for the legend. */
export const DIVERGING_GRADIENT = `linear-gradient(to right, ${DIVERGING_STOPS.join(', ')})`;

/**
 * The value that maps to full colour: the largest magnitude in the tensor, so each tensor uses
 * the whole scale; probabilities always use 1, so weights compare across heads and layers.
 */
export function scaleMaxFor(step: string, values: ArrayLike<number>): number {
  if (step === 'attention_probs') return 1;
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return m > 0 ? m : 1;
}
