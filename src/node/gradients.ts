/**
 * Registers TF.js's gradients for the stock ops in Node. The Node build of tfjs-core leaves them
 * out; they exist only in its ESM files, which need a resolve hook to load under Node. The ESM copy
 * registers into the same global gradient registry and engine as the Node build. (Bundlers, the
 * page and vitest import `@tensorflow/tfjs-core/dist/register_all_gradients` directly.)
 */
import { register } from 'node:module';

register('./tfjs-esm-resolve.mjs', import.meta.url);
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
