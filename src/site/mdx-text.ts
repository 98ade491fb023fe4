/**
 * Plain text from an MDX chapter body, for the search index: ESM imports/exports, JSX tags,
 * `{expressions}`, comments and Markdown markup are removed, math is reduced to its words, and
 * the text is split into sections at the headings. Pure string work (no MDX parser): good enough
 * for searching, not a renderer.
 */

export interface TextSection {
  /** The heading that opens the section (plain text); null for the text before the first one. */
  heading: string | null;
  /** 1–6 for `#`–`######`; 0 for the text before the first heading. */
  depth: number;
  text: string;
}

/**
 * Turns a self-closing component (`<Num k="x" />`) into text; undefined drops it. `props` holds
 * the string attributes, and `{...}` attributes as their source text with quotes around plain
 * string literals removed (`row={0}` → "0").
 */
export type InlineResolver = (name: string, props: Readonly<Record<string, string>>) => string | undefined;

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const ESM_START = /^(import|export)[\s{*]/;

/** Splits `body` into sections at its Markdown headings and returns each section's plain text. */
export function mdxSections(body: string, resolve?: InlineResolver): TextSection[] {
  const lines = stripComments(stripFrontmatter(body.replace(/\r\n?/g, '\n'))).split('\n');
  const raw: { heading: string | null; depth: number; lines: string[] }[] = [{ heading: null, depth: 0, lines: [] }];
  let fence: string | null = null;
  let esm: string[] | null = null;
  for (const line of lines) {
    const current = raw[raw.length - 1];
    if (fence !== null) {
      // Code stays searchable, but as plain text: mark it so inline processing leaves it alone.
      if (line.trim().startsWith(fence)) fence = null;
      else current.lines.push(CODE_LINE + line);
      continue;
    }
    if (esm !== null) {
      esm.push(line);
      if (esmDone(esm)) esm = null;
      continue;
    }
    const open = FENCE.exec(line);
    if (open) {
      fence = open[1];
      continue;
    }
    if (ESM_START.test(line)) {
      esm = [line];
      if (esmDone(esm)) esm = null;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      raw.push({ heading: heading[2], depth: heading[1].length, lines: [] });
      continue;
    }
    current.lines.push(line);
  }
  const sections = raw.map((s) => ({
    heading: s.heading === null ? null : inlineText(s.heading, resolve),
    depth: s.depth,
    text: blockText(s.lines, resolve),
  }));
  // Drop an empty lead-in (a chapter that opens with a heading).
  return sections[0].text === '' && sections.length > 1 ? sections.slice(1) : sections;
}

/** The whole body as one plain-text string (headings included). */
export function mdxToText(body: string, resolve?: InlineResolver): string {
  return mdxSections(body, resolve)
    .map((s) => [s.heading, s.text].filter(Boolean).join(' '))
    .join(' ')
    .trim();
}

const CODE_LINE = '\u0001';

function stripFrontmatter(s: string): string {
  return s.replace(/^---\n[\s\S]*?\n---(?:\n|$)/, '');
}

function stripComments(s: string): string {
  return s.replace(/<!--[\s\S]*?-->/g, ' ').replace(/\{\s*\/\*[\s\S]*?\*\/\s*\}/g, ' ');
}

/** An import/export statement is complete once its braces balance and it ends like a statement. */
function esmDone(lines: string[]): boolean {
  const text = lines.join('\n');
  const last = lines[lines.length - 1];
  if (last.trim() === '') return true;
  let depth = 0;
  for (const ch of text) {
    if (ch === '{' || ch === '(' || ch === '[') depth++;
    else if (ch === '}' || ch === ')' || ch === ']') depth--;
  }
  if (depth > 0) return false;
  return /(['"`;)\]}]|\w)\s*$/.test(last) && (/\bfrom\s*['"][^'"]*['"]\s*;?\s*$/.test(text) || /;\s*$/.test(last) || /^import\s*['"]/.test(text) || /^export\s+(const|let|var|function|default)\b/.test(text));
}

function blockText(lines: string[], resolve?: InlineResolver): string {
  const parts: string[] = [];
  let prose: string[] = [];
  const flush = (): void => {
    if (prose.length) parts.push(inlineText(prose.map(lineMarkup).join('\n'), resolve));
    prose = [];
  };
  for (const line of lines) {
    if (line.startsWith(CODE_LINE)) {
      flush();
      parts.push(line.slice(1));
    } else prose.push(line);
  }
  flush();
  return collapse(parts.join(' '));
}

/** Block-level markup at the start of a line: quotes, list markers, table rules and pipes. */
function lineMarkup(line: string): string {
  if (/^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/.test(line)) return ''; // table rule
  if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) return ''; // thematic break
  return line
    .replace(/^\s*(>\s?)+/, '')
    .replace(/^\s*(?:[-*+]|\d+[.)])\s+(\[[ xX]\]\s+)?/, '')
    .replace(/\|/g, ' ');
}

/** Inline markup → text: code spans, math, escapes, JSX/HTML, expressions, links, emphasis. */
export function inlineText(s: string, resolve?: InlineResolver): string {
  const kept: string[] = [];
  const keep = (text: string): string => {
    kept.push(text);
    return `\u0002${kept.length - 1}\u0003`;
  };
  let out = s
    .replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_, _ticks: string, code: string) => keep(code.trim()))
    .replace(/(?<!\\)\$\$([\s\S]+?)(?<!\\)\$\$/g, (_, tex: string) => keep(texText(tex)))
    .replace(/(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\d)/g, (_, tex: string) => keep(texText(tex)))
    .replace(/\\([!-/:-@[-`{-~])/g, (_, ch: string) => keep(ch));
  out = stripTags(out, resolve, keep);
  out = stripExpressions(out)
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[\^[^\]]+\]/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, '$1')
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, '$2')
    .replace(/(?<![\w*])\*(?=\S)([\s\S]*?\S)\*(?![\w*])/g, '$1')
    .replace(/(?<!\w)_(?=\S)([\s\S]*?\S)_(?!\w)/g, '$1')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '$1');
  out = decodeEntities(out);
  // Restore kept pieces (they may nest: an escape inside math text).
  for (let i = 0; i < 3 && out.includes('\u0002'); i++) out = out.replace(/\u0002(\d+)\u0003/g, (_, n: string) => kept[Number(n)]);
  return collapse(out);
}

/** TeX → its words: \text{...} kept, other commands and grouping symbols dropped. */
export function texText(tex: string): string {
  return collapse(
    tex
      .replace(/\\(?:text|textrm|textbf|textit|mathrm|mathbf|mathit|mathsf|mathtt|operatorname)\*?\s*\{([^{}]*)\}/g, ' $1 ')
      .replace(/\\[a-zA-Z]+/g, ' ')
      .replace(/\\./g, ' ')
      .replace(/[{}^_&~]/g, ' '),
  );
}

/**
 * Removes JSX/HTML tags (attributes may hold quotes and `{...}` with `>` inside). Self-closing
 * tags are replaced by `resolve`'s text; opening and closing tags by a space (children stay).
 */
function stripTags(s: string, resolve: InlineResolver | undefined, keep: (t: string) => string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    if (lt < 0) break;
    out += s.slice(i, lt);
    const next = s[lt + 1] ?? '';
    const auto = /^<(https?:\/\/[^\s>]+|mailto:[^\s>]+)>/.exec(s.slice(lt));
    if (auto) {
      out += keep(auto[1]);
      i = lt + auto[0].length;
      continue;
    }
    if (!/[A-Za-z/>]/.test(next)) {
      out += '<';
      i = lt + 1;
      continue;
    }
    const end = tagEnd(s, lt + 1);
    if (end < 0) {
      out += '<';
      i = lt + 1;
      continue;
    }
    const tag = s.slice(lt, end + 1);
    const selfClosing = /\/\s*>$/.test(tag);
    const name = /^<\/?\s*([A-Za-z][\w.:-]*)?/.exec(tag)?.[1] ?? '';
    let text = ' ';
    if (selfClosing && name && resolve) {
      const resolved = resolve(name, tagProps(tag));
      if (resolved !== undefined) text = keep(resolved);
    } else if (/^br$/i.test(name)) text = ' ';
    out += text;
    i = end + 1;
  }
  return out + s.slice(i);
}

/** Index of the `>` closing a tag opened just before `from`, honouring quotes and braces; -1 if none. */
function tagEnd(s: string, from: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let j = from; j < s.length; j++) {
    const ch = s[j];
    if (quote) {
      if (ch === '\\') j++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || (ch === '`' && depth > 0)) quote = ch;
    else if (ch === '{') depth++;
    else if (ch === '}') depth = Math.max(0, depth - 1);
    else if (ch === '>' && depth === 0) return j;
    else if (ch === '<' && depth === 0 && quote === null && j > from && /[A-Za-z/]/.test(s[j + 1] ?? '')) return -1;
  }
  return -1;
}

/** The attributes of one tag: `a="x"`, `a='x'`, `a={expr}` (string literals unquoted), bare `a` = "true". */
export function tagProps(tag: string): Record<string, string> {
  const props: Record<string, string> = {};
  const body = tag.replace(/^<\/?\s*[A-Za-z][\w.:-]*/, '').replace(/\/?\s*>$/, '');
  let i = 0;
  while (i < body.length) {
    const m = /^\s*([A-Za-z_:][\w:.-]*)/.exec(body.slice(i));
    if (!m) {
      i++;
      continue;
    }
    const name = m[1];
    i += m[0].length;
    const eq = /^\s*=\s*/.exec(body.slice(i));
    if (!eq) {
      props[name] = 'true';
      continue;
    }
    i += eq[0].length;
    const q = body[i];
    if (q === '"' || q === "'") {
      const close = body.indexOf(q, i + 1);
      const stop = close < 0 ? body.length : close;
      props[name] = body.slice(i + 1, stop);
      i = stop + 1;
    } else if (q === '{') {
      let depth = 0;
      let j = i;
      for (; j < body.length; j++) {
        if (body[j] === '{') depth++;
        else if (body[j] === '}' && --depth === 0) break;
      }
      const expr = body.slice(i + 1, j).trim();
      const literal = /^(['"`])([\s\S]*)\1$/.exec(expr);
      props[name] = literal ? literal[2] : expr;
      i = j + 1;
    } else {
      const m2 = /^[^\s>]+/.exec(body.slice(i));
      props[name] = m2 ? m2[0] : '';
      i += m2 ? m2[0].length : 1;
    }
  }
  return props;
}

/** Removes `{...}` expressions (balanced, strings honoured). */
function stripExpressions(s: string): string {
  let out = '';
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (depth === 0) {
      if (ch === '{') {
        depth = 1;
        out += ' ';
      } else out += ch;
      continue;
    }
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '{') depth++;
    else if (ch === '}') depth--;
  }
  return out;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', times: '×' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[e.toLowerCase()] ?? whole;
  });
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
