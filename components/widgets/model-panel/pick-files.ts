/**
 * Which dropped file is the checkpoint and which the tokenizer. A GGUF file (known by its first
 * bytes, see isGgufBlob) is the whole model, tokenizer included. Readers drop a llama2.c pair at
 * once, in any order, so guess: a name with "tok" in it is the tokenizer; otherwise the smaller
 * file is (a llama2.c tokenizer is a few KiB to a few hundred KiB, a checkpoint at least about a MiB).
 */
export interface FilePair<F> {
  model: F | null;
  tokenizer: F | null;
}

interface Named {
  name: string;
  size: number;
}

const looksLikeTokenizer = (f: Named) => /tok/i.test(f.name);

export function sortDropped<F extends Named>(files: F[], current: FilePair<F>, isGguf: (f: F) => boolean = () => false): FilePair<F> {
  const gguf = files.find(isGguf);
  if (gguf) return { model: gguf, tokenizer: null };
  if (files.length >= 2) {
    const [a, b] = files;
    const aTok = looksLikeTokenizer(a);
    const bTok = looksLikeTokenizer(b);
    if (aTok !== bTok) return aTok ? { model: b, tokenizer: a } : { model: a, tokenizer: b };
    return a.size <= b.size ? { model: b, tokenizer: a } : { model: a, tokenizer: b };
  }
  if (files.length === 1) {
    const [f] = files;
    return looksLikeTokenizer(f) ? { ...current, tokenizer: f } : { ...current, model: f };
  }
  return current;
}
