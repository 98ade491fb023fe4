/** One line per command, for --help and error messages. */
export const USAGE = {
  generate:
    'generate --model F [--tokenizer F] [--prompt S] [--chat [--system S]] [--temperature 1] [--top-p 0.9] [--top-k 0] [--seed N] [--steps 256] [--backend auto|wasm|cpu|webgpu] [--quant f32|q8_0|q4_0] [--json]',
  eval:
    'eval --model F [--tokenizer F] --text FILE [--stories N] [--truncate] [--backend B] [--quant f32|q8_0|q4_0] [--json]',
  convert:
    'convert --model F --tokenizer F --out FILE.gguf [--type f32|f16|q8_0|q4_0]',
  inspect:
    'inspect --model F [--json]',
  presets:
    'presets [--json]',
  train:
    'train --data FILE [--data FILE ...] --val FILE (--config nano|micro|mini|small | --dim D --layers L --heads H --kv-heads K --seq-len S) --steps N --out DIR [--tokenizer F | --vocab-size 512] [--batch 8] [--lr 1e-3] [--warmup N] [--eval-every 50] [--eval-windows 16] [--save-every 100] [--seed 1] [--backend wasm|cpu|webgpu]',
  'sample-stories':
    'sample-stories --model F [--tokenizer F] --stories N --out FILE [--seed 1] [--temperature 1] [--top-p 1] [--backend B]',
  'publish-model':
    'publish-model --run DIR --val FILE --out public/models/default [--stories 40]',
} as const;
