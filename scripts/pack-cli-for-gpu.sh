#!/usr/bin/env bash
# Bundles the CLI (`npm run cli -- ...`) and the benchmarks (`npm run bench -- ...`) for a GPU
# machine that has no Node.js and no network, using ../shared/gpu/pack.sh for Node, Dawn and the
# Vulkan loader. Then, on that machine:
#   bash .gpu/run.sh main train ... --backend webgpu
#   bash .gpu/run.sh bench inference --model F --tokenizer F --backends webgpu,cpu
# Both are rebundled with the ESM builds first ("module" before "main"): pack.sh's default picks
# TF.js's Node build, and the gradient registry (ESM) would then drive a second copy of tfjs-core.
# wasm does not run from the bundle (its binaries are not beside it): use webgpu and cpu there.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH" bash ../shared/gpu/pack.sh src/cli/main.ts
for entry in src/cli/main.ts src/bench/main.ts; do
  name=$([ "$entry" = src/bench/main.ts ] && echo bench || echo main)
  npx --no-install esbuild "$entry" --bundle --platform=node --format=esm --external:webgpu --external:playwright-core \
    --main-fields=module,main \
    --banner:js="import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);" \
    --outfile=".gpu/$name.mjs" --log-level=warning
done
# src/node/gradients.ts registers this resolve hook relative to itself; in the bundle it is a no-op.
cp src/node/tfjs-esm-resolve.mjs .gpu/
# The site benchmark drives Chromium, which the GPU machine lacks; the other benchmarks only need
# the import to resolve.
mkdir -p .gpu/node_modules/playwright-core
echo '{"name":"playwright-core","type":"module","main":"index.js"}' > .gpu/node_modules/playwright-core/package.json
echo 'export const chromium = undefined;' > .gpu/node_modules/playwright-core/index.js
