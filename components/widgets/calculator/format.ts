/**
 * Human-readable counts and byte sizes for the parameter calculator. Bytes use decimal (SI)
 * units throughout, 1 GB = 10⁹ bytes, the way model sizes are usually quoted ("13.5 GB").
 */

const COUNT_UNITS = ['', 'K', 'M', 'B', 'T'] as const;
const BYTE_UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** n scaled by the largest power of 1000 that keeps it ≥ 1, at 3 significant digits, with its unit. */
function scaled(n: number, units: readonly string[]): { text: string; unit: string } {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`not a size: ${n}`);
  if (n < 1000) return { text: Number.isInteger(n) ? String(n) : n.toPrecision(3), unit: units[0] };
  let u = Math.min(Math.floor(Math.log10(n) / 3), units.length - 1);
  // Rounding can carry into the next unit (999.96 K → "1.00e+3 K"), so decide after rounding.
  let text = (n / 1000 ** u).toPrecision(3);
  if (Number(text) >= 1000 && u + 1 < units.length) text = (n / 1000 ** ++u).toPrecision(3);
  return { text, unit: units[u] };
}

/** 6738415616 → "6.74 B"; below a thousand, the number itself. */
export function formatCount(n: number): string {
  const { text, unit } = scaled(n, COUNT_UNITS);
  return unit ? `${text} ${unit}` : text;
}

/** 13476831232 → "13.5 GB" (decimal units). */
export function formatBytes(n: number): string {
  const { text, unit } = scaled(n, BYTE_UNITS);
  return n === 1 ? '1 byte' : `${text} ${unit}`;
}

/** The exact number with thousands separators: "6,738,415,616", "1.0625". */
export const formatExact = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 4 });

/** A share of a total as a percentage with one decimal; "<0.1%" for a tiny non-zero share; never NaN. */
export function formatShare(part: number, total: number): string {
  if (!(total > 0) || part <= 0) return '0%';
  const pct = (100 * part) / total;
  return pct < 0.05 ? '<0.1%' : `${pct.toFixed(1)}%`;
}
