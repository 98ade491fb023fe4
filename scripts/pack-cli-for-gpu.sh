#!/usr/bin/env bash
# Bundles the CLI (`npm run cli -- ...`) for a GPU machine that has no Node.js and no network, using
# ../shared/gpu/pack.sh for Node, Dawn and the Vulkan loader. Then, on that machine:
#   bash .gpu/run.sh main train ... --backend webgpu
# The CLI is rebundled with the ESM builds first ("module" before "main"): pack.sh's default picks
# TF.js's Node build, and the gradient registry (ESM) would then drive a second copy of tfjs-core.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH" bash ../shared/gpu/pack.sh src/cli/main.ts
npx --no-install esbuild src/cli/main.ts --bundle --platform=node --format=esm --external:webgpu \
  --main-fields=module,main \
  --banner:js="import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);" \
  --outfile=.gpu/main.mjs --log-level=warning
# src/node/gradients.ts registers this resolve hook relative to itself; in the bundle it is a no-op.
cp src/node/tfjs-esm-resolve.mjs .gpu/
