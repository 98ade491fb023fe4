/** Site-relative links that respect Astro's `base` (import.meta.env.BASE_URL). */

/** The base URL with exactly one trailing slash ("/" or "/explorer/"). */
export function siteBase(base: string = import.meta.env.BASE_URL): string {
  return base.replace(/\/*$/, '/');
}

/** `withBase('chapters/x/')` → "/chapters/x/" (or "/explorer/chapters/x/" under a base). */
export function withBase(path: string, base?: string): string {
  return siteBase(base) + path.replace(/^\/+/, '');
}

/** The URL of a chapter page, optionally at a heading anchor. */
export function chapterHref(slug: string, anchor?: string | null, base?: string): string {
  return withBase(`chapters/${slug}/`, base) + (anchor ? `#${anchor}` : '');
}
