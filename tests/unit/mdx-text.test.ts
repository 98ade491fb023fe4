// The MDX → plain text stripping behind the search index (src/site/mdx-text.ts).
import { describe, expect, it } from 'vitest';
import { inlineText, mdxSections, mdxToText, tagProps, texText } from '../../src/site/mdx-text.ts';

describe('mdxToText', () => {
  it('drops front matter, imports and exports (also multi-line)', () => {
    const body = [
      '---',
      'title: "X"',
      '---',
      "import PaperTable from '../../components/paper/PaperTable.astro';",
      'import {',
      '  a,',
      '  b,',
      "} from './x.ts';",
      'export const meta = { a: 1 };',
      '',
      'Hello world.',
    ].join('\n');
    expect(mdxToText(body)).toBe('Hello world.');
  });

  it('keeps the words of links, emphasis, code and lists, not their markup', () => {
    const body = [
      'A **bold** and *italic* and _under_ word with `inline code` and [a link](https://x.y/z).',
      '',
      '- item one',
      '1. item two',
      '> quoted',
      '![alt text](pic.png)',
      'snake_case_name stays and ~~gone~~ struck.',
    ].join('\n');
    expect(mdxToText(body)).toBe(
      'A bold and italic and under word with inline code and a link. item one item two quoted alt text snake_case_name stays and gone struck.',
    );
  });

  it('removes JSX tags and expressions but keeps children; resolves self-closing components', () => {
    const body = [
      'Batch <Num k="global-batch-size" /> tokens and <Cell table="table-3" row={0} col="mmlu" /> here.',
      '',
      '<PaperChart id="table-3" x="mmlu" y="model" filter={{ model: "LLAMA 2" }} title="A > B" />',
      '',
      '<details>',
      '<summary>More</summary>',
      'Inner text.',
      '</details>',
      '',
      '<ParamCalculator client:visible />',
      'Value {1 + 2} gone {"and this"}.',
      '{/* a comment */}',
      '<!-- html comment -->',
    ].join('\n');
    const seen: [string, Record<string, string>][] = [];
    const text = mdxToText(body, (name, props) => {
      seen.push([name, { ...props }]);
      if (name === 'Num') return '4M';
      if (name === 'Cell') return `${props.table}/${props.row}/${props.col}`;
      return undefined;
    });
    expect(text).toBe('Batch 4M tokens and table-3/0/mmlu here. More Inner text. Value gone .');
    expect(seen.map(([n]) => n)).toEqual(['Num', 'Cell', 'PaperChart', 'ParamCalculator']);
    expect(seen[2][1]).toMatchObject({ id: 'table-3', title: 'A > B', filter: '{ model: "LLAMA 2" }' });
    expect(seen[3][1]).toEqual({ 'client:visible': 'true' });
  });

  it('reduces math to its words and keeps code blocks as text', () => {
    const body = [
      'Norm $\\text{RMSNorm}(x) = \\frac{x}{\\sqrt{n}}$ and a price of \\$5.',
      '',
      '$$',
      '\\mathrm{softmax}\\left(\\frac{QK^T}{\\sqrt{d}}\\right)',
      '$$',
      '',
      '```ts',
      'const a = <b>{1}</b>;',
      '# not a heading',
      '```',
    ].join('\n');
    expect(mdxToText(body)).toBe('Norm RMSNorm (x) = x n and a price of $5. softmax ( QK T d ) const a = <b>{1}</b>; # not a heading');
  });

  it('drops table rules and pipes, decodes entities', () => {
    const body = ['| a | b |', '| --- | :-: |', '| 1 &amp; 2 | x&nbsp;y |', '', '---', '', 'Done &#x2014; end.'].join('\n');
    expect(mdxToText(body)).toBe('a b 1 & 2 x y Done — end.');
  });
});

describe('mdxSections', () => {
  it('splits at headings, with the lead-in first', () => {
    const body = ['Intro.', '', '## First *part*', 'One.', '', '### Sub `code`', 'Two.', '', '## Last ##', 'Three.'].join('\n');
    expect(mdxSections(body)).toEqual([
      { heading: null, depth: 0, text: 'Intro.' },
      { heading: 'First part', depth: 2, text: 'One.' },
      { heading: 'Sub code', depth: 3, text: 'Two.' },
      { heading: 'Last', depth: 2, text: 'Three.' },
    ]);
  });

  it('leaves out an empty lead-in', () => {
    expect(mdxSections("import X from './x';\n\n## A\nText")).toEqual([{ heading: 'A', depth: 2, text: 'Text' }]);
  });
});

describe('helpers', () => {
  it('tagProps reads quoted, braced and bare attributes', () => {
    expect(tagProps('<Cell table="t" row={11} col=\'c\' flag />')).toEqual({ table: 't', row: '11', col: 'c', flag: 'true' });
    expect(tagProps('<X a={"str"} b={{ k: [1, 2] }}>')).toEqual({ a: 'str', b: '{ k: [1, 2] }' });
  });

  it('texText keeps text commands and drops the rest', () => {
    expect(texText('\\operatorname{SwiGLU}(x) = \\text{Swish}_1(xW) \\otimes xV')).toBe('SwiGLU (x) = Swish 1(xW) xV');
  });

  it('inlineText leaves a lone < and $ alone', () => {
    expect(inlineText('a < b and 5 $ only')).toBe('a < b and 5 $ only');
  });
});
