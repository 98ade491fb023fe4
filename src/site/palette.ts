/**
 * The site's colours, one palette per scheme, written once. Base.astro emits them as CSS custom
 * properties: light on :root, dark where the OS prefers it (unless the toggle chose light) and
 * where the toggle chose dark. CSS cannot join a media query and a selector into one rule, so
 * the dark declarations appear twice in the CSS, from this one source.
 */
type Palette = Record<'bg' | 'fg' | 'muted' | 'accent' | 'surface' | 'border' | 'ok' | 'error' | 'mark' | `chart-${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8}`, string>;

export const LIGHT: Palette = {
  bg: '#fdfcfa',
  fg: '#1d1d1f',
  muted: '#5b5b66',
  accent: '#0b5fcc',
  surface: '#f1efe9',
  border: '#d6d3cb',
  ok: '#176c2f',
  error: '#b3261e',
  mark: '#ffe38a',
  'chart-1': '#1f66c9',
  'chart-2': '#c7511b',
  'chart-3': '#12805c',
  'chart-4': '#a23a86',
  'chart-5': '#8a6d00',
  'chart-6': '#2b8599',
  'chart-7': '#6b5fb5',
  'chart-8': '#6a6a72',
};

export const DARK: Palette = {
  bg: '#141416',
  fg: '#e8e6e3',
  muted: '#a5a3ad',
  accent: '#7cb3ff',
  surface: '#1f1f23',
  border: '#3a3a40',
  ok: '#6fd48b',
  error: '#ff8a80',
  mark: '#6b5a10',
  'chart-1': '#7cb3ff',
  'chart-2': '#ff9e5e',
  'chart-3': '#5fd0a0',
  'chart-4': '#f08cd0',
  'chart-5': '#e6c453',
  'chart-6': '#6cd3e6',
  'chart-7': '#b3a7ff',
  'chart-8': '#b0b0b8',
};

const declarations = (scheme: 'light' | 'dark', palette: Palette) =>
  [`color-scheme: ${scheme};`, ...Object.entries(palette).map(([name, value]) => `--${name}: ${value};`)].join(' ');

/** The stylesheet that sets the palette's custom properties for both schemes. */
export function paletteCss(): string {
  const dark = declarations('dark', DARK);
  return [
    `:root { ${declarations('light', LIGHT)} }`,
    `@media (prefers-color-scheme: dark) { :root:not([data-theme='light']) { ${dark} } }`,
    `:root[data-theme='dark'] { ${dark} }`,
  ].join('\n');
}
