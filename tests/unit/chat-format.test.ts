import { describe, expect, it } from 'vitest';
import llamaTokenizer from 'llama-tokenizer-js';
import { chatSegments, chatText, chatTokens, looksLikeChatModel, type ChatSpec } from '../../src/engine/chat-format.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { sharedBytes } from '../support/shared.ts';

const llama = Tokenizer.fromBytes(sharedBytes('models/llama2-tokenizer/tokenizer.bin'), 'tokenizer.bin', 32000);

/**
 * The reference's construction with llama-tokenizer-js as the encoder: each segment's text (written
 * out by hand here, not by chatSegments) encoded with BOS and the dummy-prefix space, EOS appended
 * to completed turns.
 */
const independent = (segments: [text: string, eos: boolean][]) =>
  segments.flatMap(([text, eos]) => [...llamaTokenizer.encode(text, true, true), ...(eos ? [2] : [])]);

const dialogue: ChatSpec = {
  system: 'You answer in one short sentence.',
  turns: [
    { user: '  What colour is the sky?\n', assistant: ' Blue, on a clear day. ' },
    { user: 'And at night?' },
  ],
};

describe('Llama 2-Chat format', () => {
  it('builds a two-turn dialogue with a system prompt exactly as Meta’s reference does', () => {
    const ids = chatTokens(llama, dialogue);
    expect(ids).toEqual(
      independent([
        // The user's leading spaces stay: the reference strips the message with the system block folded in.
        ['[INST] <<SYS>>\nYou answer in one short sentence.\n<</SYS>>\n\n  What colour is the sky? [/INST] Blue, on a clear day. ', true],
        ['[INST] And at night? [/INST]', false],
      ]),
    );
    // "<s>▁[INST]": the ids every Llama 2-Chat prompt starts with.
    expect(ids.slice(0, 4)).toEqual([1, 518, 25580, 29962]);
    // BOS opens each turn, EOS closes the completed one, and neither appears anywhere else.
    expect(ids.flatMap((id, i) => (id <= 2 ? [[i, id]] : []))).toEqual([
      [0, 1],
      [ids.indexOf(2), 2],
      [ids.indexOf(2) + 1, 1],
    ]);
    expect(chatText(dialogue)).toBe(
      '<s>[INST] <<SYS>>\nYou answer in one short sentence.\n<</SYS>>\n\n  What colour is the sky? [/INST] Blue, on a clear day. </s><s>[INST] And at night? [/INST]',
    );
  });

  it('needs no system prompt', () => {
    const chat = { turns: [{ user: 'Tell me a story about a llama.' }] };
    expect(chatTokens(llama, chat)).toEqual(independent([['[INST] Tell me a story about a llama. [/INST]', false]]));
    expect(chatText(chat)).toBe('<s>[INST] Tell me a story about a llama. [/INST]');
  });

  it('strips like Python: the folded first message as a whole, so the system prompt keeps its spaces', () => {
    const [first] = chatSegments({ system: '  Be kind. ', turns: [{ user: '\u0085 hi \u001f' }] });
    expect(first.text).toBe('[INST] <<SYS>>\n  Be kind. \n<</SYS>>\n\n\u0085 hi [/INST]');
    // \ufeff is whitespace to JavaScript's trim() but not to Python's strip().
    expect(chatSegments({ turns: [{ user: '\ufeffhi' }] })[0].text).toBe('[INST] \ufeffhi [/INST]');
  });

  it('refuses an empty user message, in words', () => {
    for (const user of ['', '  \n\t']) {
      expect(() => chatTokens(llama, { system: 'Be brief.', turns: [{ user }] })).toThrow(
        new EngineError('bad-argument', 'chat: the user message is empty; write something for the model to answer'),
      );
    }
    expect(() => chatSegments({ turns: [{ user: 'hi', assistant: 'hello' }, { user: ' ' }] })).toThrow(/^chat: turn 2: the user message is empty/);
  });

  it('refuses what the reference refuses: misplaced answers, the format’s own tags in messages', () => {
    expect(() => chatSegments({ turns: [] })).toThrow(/needs at least one user message/);
    expect(() => chatSegments({ turns: [{ user: 'hi', assistant: 'hello' }] })).toThrow(/the last turn has an answer already/);
    expect(() => chatSegments({ turns: [{ user: 'a' }, { user: 'b' }] })).toThrow(/turn 1: only the last turn may be without an answer/);
    expect(() => chatSegments({ turns: [{ user: 'say [/INST] now' }] })).toThrow(/the user message contains "\[\/INST\]"/);
    expect(() => chatSegments({ system: '<<SYS>>', turns: [{ user: 'hi' }] })).toThrow(/the system prompt contains "<<SYS>>"/);
  });

  it('calls a model a chat model only with the 32,000-piece vocabulary and "chat" in its name', () => {
    expect(looksLikeChatModel({ name: 'llama-2-7b-chat.Q4_0.gguf', vocabSize: 32000 })).toBe(true);
    expect(looksLikeChatModel({ name: 'llama-2-7b.Q4_0.gguf', vocabSize: 32000 })).toBe(false);
    expect(looksLikeChatModel({ name: 'stories-chat', vocabSize: 4096 })).toBe(false);
  });
});
