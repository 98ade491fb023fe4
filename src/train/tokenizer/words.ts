/**
 * SentencePiece-style pre-splitting into "words", the units BPE merges within. A space attaches
 * to the start of the word after it (SentencePiece's ▁), so pieces look like " the". Letters,
 * digits, line breaks and everything else (punctuation, symbols, tabs) never share a word:
 * SentencePiece likewise keeps one Unicode script per piece and, with split_digits (as llama2.c
 * trains it), every digit alone. Extra spaces form whitespace-only words.
 */
const WORD = new RegExp(
  [
    ' ?[\\p{L}\\p{M}]+', // letters, with the space before them
    ' ?[^\\p{L}\\p{M}\\p{Nd}\\r\\n ]+', // punctuation, symbols, other whitespace, with the space before them
    '\\p{Nd}', // one digit
    '[\\r\\n]+', // line breaks
    ' +(?= [^\\p{Nd}\\r\\n ])', // all but the last of several spaces before a word
    ' +', // spaces before a digit, a line break or the end
  ].join('|'),
  'gu',
);

/**
 * How often each word occurs in the texts. Each non-empty text gets a leading space first, the
 * dummy prefix run.c adds to the text it encodes, so training sees what encoding will see.
 */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    if (text.length === 0) continue;
    for (const [word] of (' ' + text).matchAll(WORD)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}
