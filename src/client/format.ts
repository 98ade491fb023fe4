/** Number formatting for the engine widgets: one place, so every widget says sizes the same way. */

const count = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

/** 1,038,720 */
export const formatCount = (n: number): string => count.format(n);

/** Binary units, as file managers show sizes: 4.0 MiB, 424 KiB, 812 B. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** "1.2 MiB of 4.0 MiB (30%)", or "1.2 MiB" while the total is unknown. */
export function formatProgress(loaded: number, total: number | null): string {
  if (total === null || total <= 0) return formatBytes(loaded);
  return `${formatBytes(loaded)} of ${formatBytes(total)} (${percent(loaded, total)}%)`;
}

export const percent = (loaded: number, total: number): number => Math.min(100, Math.floor((100 * loaded) / total));

/** Probability as people read it: 42%, 0.3%, <0.01%. */
export function formatProbability(p: number): string {
  if (p >= 0.995) return `${(p * 100).toFixed(0)}%`;
  if (p >= 0.1) return `${(p * 100).toFixed(0)}%`;
  if (p >= 0.001) return `${(p * 100).toFixed(1)}%`;
  if (p >= 0.0001) return `${(p * 100).toFixed(2)}%`;
  return '<0.01%';
}
