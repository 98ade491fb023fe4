/** How well a tokenizer compresses text, encoded as run.c would (dummy prefix, no BOS). */
import type { Tokenizer } from '../../engine/tokenizer/tokenizer.ts';

export interface CompressionReport {
  texts: number;
  /** UTF-8 bytes of the texts. */
  bytes: number;
  /** Tokens of the texts, without BOS: it stands for no text. */
  tokens: number;
  tokensPerByte: number;
  bytesPerToken: number;
  /** Texts for which decode(encode(text)) is not the text. */
  roundTripFailures: number;
}

export function evaluateCompression(tokenizer: Tokenizer, texts: readonly string[]): CompressionReport {
  const encoder = new TextEncoder();
  let bytes = 0;
  let tokens = 0;
  let roundTripFailures = 0;
  for (const text of texts) {
    const ids = tokenizer.encode(text, { bos: false });
    bytes += encoder.encode(text).length;
    tokens += ids.length;
    if (tokenizer.decode(ids) !== text) roundTripFailures++;
  }
  return { texts: texts.length, bytes, tokens, tokensPerByte: tokens / bytes, bytesPerToken: bytes / tokens, roundTripFailures };
}
