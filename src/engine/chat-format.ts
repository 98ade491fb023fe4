/**
 * The Llama 2-Chat prompt format, token for token as Meta's reference `chat_completion` builds it
 * (facebookresearch/llama, llama/generation.py):
 *
 *   <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} </s><s>[INST] {user2} [/INST]
 *
 * The system prompt is folded into the first user message; each completed turn is encoded on its
 * own with BOS and EOS, the open last turn with BOS only. [INST] and <<SYS>> are plain text that
 * the tokenizer splits like any other; only BOS and EOS are special ids.
 * No TensorFlow.js here: the page imports this module to show the formatted prompt.
 */
import { EngineError } from './errors.ts';
import type { Tokenizer } from './tokenizer/tokenizer.ts';

const B_INST = '[INST]';
const E_INST = '[/INST]';
const B_SYS = '<<SYS>>\n';
const E_SYS = '\n<</SYS>>\n\n';
/** The reference refuses a dialogue whose messages contain these: they would forge turns. */
const SPECIAL_TAGS = [B_INST, E_INST, '<<SYS>>', '<</SYS>>'];

export interface ChatTurn {
  user: string;
  /** The model's answer; every turn has one except the last, which the model is to answer. */
  assistant?: string;
}

export interface ChatSpec {
  /** Omitted: no system block. Any string, even empty, is folded in, as the reference does. */
  system?: string;
  turns: readonly ChatTurn[];
}

/** One separately encoded piece of the prompt: BOS, the text, then EOS for a completed turn. */
export interface ChatSegment {
  text: string;
  eos: boolean;
}

/** Python's str.strip(): its whitespace set differs from JavaScript's trim() (\x1c-\x1f, \x85 vs \ufeff). */
const PY_SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');
const pyStrip = (s: string): string => s.replace(PY_STRIP, '');

const refuse = (message: string) => new EngineError('bad-argument', `chat: ${message}`);

function checkTags(where: string, text: string): void {
  const tag = SPECIAL_TAGS.find((t) => text.includes(t));
  if (tag) throw refuse(`${where} contains "${tag}"; the tags ${SPECIAL_TAGS.join(' ')} are the format's own, so (as in Meta's reference) messages may not contain them`);
}

/** The prompt's text segments, exactly as the reference formats them; refuses what it would refuse. */
export function chatSegments(chat: ChatSpec): ChatSegment[] {
  const { system, turns } = chat;
  if (turns.length === 0) throw refuse('no turns; a chat prompt needs at least one user message');
  if (system !== undefined) checkTags('the system prompt', system);
  return turns.map((turn, i) => {
    const n = turns.length > 1 ? `turn ${i + 1}: ` : '';
    const last = i === turns.length - 1;
    if (pyStrip(turn.user) === '') throw refuse(`${n}the user message is empty; write something for the model to answer`);
    checkTags(`${n}the user message`, turn.user);
    if (turn.assistant !== undefined) checkTags(`${n}the answer`, turn.assistant);
    if (last && turn.assistant !== undefined) throw refuse(`${n}the last turn has an answer already; it must be a user message for the model to answer`);
    if (!last && turn.assistant === undefined) throw refuse(`${n}only the last turn may be without an answer`);
    // The reference strips the folded message as a whole: the system prompt's own spaces stay.
    const user = pyStrip(i === 0 && system !== undefined ? B_SYS + system + E_SYS + turn.user : turn.user);
    return last
      ? { text: `${B_INST} ${user} ${E_INST}`, eos: false }
      : { text: `${B_INST} ${user} ${E_INST} ${pyStrip(turn.assistant ?? '')} `, eos: true };
  });
}

/** The prompt's token ids: each segment encoded on its own (with the dummy-prefix space), BOS first. */
export function chatTokens(tokenizer: Tokenizer, chat: ChatSpec): number[] {
  return chatSegments(chat).flatMap((s) => tokenizer.encode(s.text, { bos: true, eos: s.eos }));
}

/** The prompt as a person reads it, BOS and EOS written as <s> and </s>. */
export function chatText(chat: ChatSpec): string {
  return chatSegments(chat)
    .map((s) => `<s>${s.text}${s.eos ? '</s>' : ''}`)
    .join('');
}

/**
 * Whether a model looks like a Llama 2-Chat model: the 32,000-piece Llama 2 vocabulary and "chat"
 * in its name. A guess from the outside (a checkpoint does not say how it was fine-tuned), used
 * only to warn that a model never trained on this format will not follow it.
 */
export function looksLikeChatModel(model: { name: string; vocabSize: number }): boolean {
  return model.vocabSize === 32000 && /chat/i.test(model.name);
}
