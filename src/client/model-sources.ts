/**
 * Which models the page can load: the embedded one (shipped with the site, works offline), the
 * llama2.c TinyStories checkpoints and Llama-2-7B-Chat as GGUF for readers who are online, or
 * files the reader picks (a llama2.c checkpoint and its tokenizer, or one GGUF file).
 * Resolves each into the LoadSpec the worker understands. No engine imports (page bundle stays small).
 */
import type { LoadSpec } from '../worker/protocol.ts';
import { planMemory, uniformTensors } from '../engine/memory-plan.ts';
import { presetById } from '../engine/presets.ts';

/**
 * What the engine's memory plan gives for Llama-2-7B in Q4_0, its classifier held as q8_0 (the
 * file stores it as Q6_K): weights, the key/value cache for the full 4,096-token context and the
 * working tensors. (memory-plan.ts and presets.ts import no TF.js: the page bundle stays small.)
 */
function llama2_7bQ4GiB(): number {
  const config = presetById('llama2-7b')!.config;
  const tensors = uniformTensors(config, 'q4_0').map((t) => (t.name === 'classifier' ? { ...t, format: 'q8_0' as const } : t));
  return planMemory(config, tensors).backendBytes / 2 ** 30;
}

export type ModelSource =
  | { kind: 'embedded' }
  /** An id of REMOTE_MODELS. */
  | { kind: 'url'; id: string }
  /** tokenizer null: the model is a GGUF file, which carries its own. */
  | { kind: 'files'; model: File; tokenizer: File | null };

export interface RemoteModel {
  id: string;
  title: string;
  /** What it is, in one line. */
  description: string;
  /** llama2.c: float32 version-0 checkpoint plus tokenizer; gguf: one file, tokenizer inside, streamed. */
  format: 'llama2c' | 'gguf';
  modelUrl: string;
  /** null for a GGUF file. */
  tokenizerUrl: string | null;
  /** Download sizes in bytes (the tokenizer's 0 for a GGUF file). */
  modelBytes: number;
  tokenizerBytes: number;
  /** What the reader should know before starting it. */
  requirement?: string;
}

const TINYLLAMAS = 'https://huggingface.co/karpathy/tinyllamas/resolve/main';
/** The 32,000-piece Llama 2 vocabulary exported by llama2.c, shared by the 15M/42M/110M models. */
const LLAMA2C_TOKENIZER = 'https://raw.githubusercontent.com/karpathy/llama2.c/master/tokenizer.bin';
const LLAMA2C_TOKENIZER_BYTES = 433_869;

/**
 * Andrej Karpathy's TinyStories checkpoints (llama2.c, MIT). Sizes: stories260K and its tok512 as
 * found in ../shared; the others follow from their shapes (28-byte header + float32 weights +
 * RoPE tables), which gives stories15M's published 60,816,028 bytes exactly. Then Llama-2-7B-Chat
 * as GGUF Q4_0 (Llama 2 Community License), its size as Hugging Face lists it.
 */
export const REMOTE_MODELS: readonly RemoteModel[] = [
  {
    id: 'stories260K',
    format: 'llama2c',
    title: 'stories260K',
    description: 'a 260K-parameter TinyStories model with its own 512-piece tokenizer',
    modelUrl: `${TINYLLAMAS}/stories260K/stories260K.bin`,
    tokenizerUrl: `${TINYLLAMAS}/stories260K/tok512.bin`,
    modelBytes: 1_056_540,
    tokenizerBytes: 6_227,
  },
  {
    id: 'stories15M',
    format: 'llama2c',
    title: 'stories15M',
    description: 'a 15M-parameter TinyStories model (dim 288, 6 layers) with the Llama 2 tokenizer',
    modelUrl: `${TINYLLAMAS}/stories15M.bin`,
    tokenizerUrl: LLAMA2C_TOKENIZER,
    modelBytes: 60_816_028,
    tokenizerBytes: LLAMA2C_TOKENIZER_BYTES,
  },
  {
    id: 'stories42M',
    format: 'llama2c',
    title: 'stories42M',
    description: 'a 42M-parameter TinyStories model (dim 512, 8 layers) with the Llama 2 tokenizer',
    modelUrl: `${TINYLLAMAS}/stories42M.bin`,
    tokenizerUrl: LLAMA2C_TOKENIZER,
    modelBytes: 167_020_572,
    tokenizerBytes: LLAMA2C_TOKENIZER_BYTES,
  },
  {
    id: 'stories110M',
    format: 'llama2c',
    title: 'stories110M',
    description: 'a 110M-parameter TinyStories model (dim 768, 12 layers) with the Llama 2 tokenizer',
    modelUrl: `${TINYLLAMAS}/stories110M.bin`,
    tokenizerUrl: LLAMA2C_TOKENIZER,
    modelBytes: 438_381_596,
    tokenizerBytes: LLAMA2C_TOKENIZER_BYTES,
  },
  {
    id: 'llama-2-7b-chat-q4_0',
    format: 'gguf',
    title: 'Llama-2-7B-Chat Q4_0',
    description: "Meta's Llama 2 7B chat model, 4-bit (GGUF Q4_0, converted by TheBloke), with the Llama 2 tokenizer inside",
    modelUrl: 'https://huggingface.co/TheBloke/Llama-2-7B-Chat-GGUF/resolve/main/llama-2-7b-chat.Q4_0.gguf',
    tokenizerUrl: null,
    modelBytes: 3_825_807_040,
    tokenizerBytes: 0,
    requirement: `needs WebGPU on a GPU with about ${Math.ceil(llama2_7bQ4GiB())} GiB free (weights, and the key/value cache for 4,096 tokens)`,
  },
];

export const EMBEDDED_MODEL_LABEL = 'Embedded TinyStories model';

const fileName = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/**
 * `siteRoot` is the absolute URL of the site's base (e.g. https://host/llama/): the worker runs
 * from /_astro/, so relative paths would resolve against the wrong folder there.
 */
export function loadSpecFor(source: ModelSource, siteRoot: string): LoadSpec {
  switch (source.kind) {
    case 'embedded':
      return {
        kind: 'fetch',
        label: EMBEDDED_MODEL_LABEL,
        origin: 'embedded',
        model: { url: new URL('models/default/model.bin', siteRoot).href, name: 'model.bin' },
        tokenizer: { url: new URL('models/default/tokenizer.bin', siteRoot).href, name: 'tokenizer.bin' },
        cache: false, // served by the site itself: the browser's HTTP cache is enough
      };
    case 'url': {
      const m = REMOTE_MODELS.find((r) => r.id === source.id);
      if (!m) throw new Error(`Unknown model "${source.id}"; known: ${REMOTE_MODELS.map((r) => r.id).join(', ')}`);
      return {
        kind: 'fetch',
        label: m.title,
        origin: 'remote',
        // A GGUF file streams: it may be larger than any one buffer the browser allows.
        model: { url: m.modelUrl, name: fileName(m.modelUrl), stream: m.format === 'gguf' },
        tokenizer: m.tokenizerUrl === null ? null : { url: m.tokenizerUrl, name: fileName(m.tokenizerUrl) },
        cache: true,
      };
    }
    case 'files':
      return { kind: 'files', model: source.model, tokenizer: source.tokenizer };
  }
}
