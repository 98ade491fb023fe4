// Node resolve hook: TensorFlow.js ships its ESM build with extensionless relative imports
// ("./gradients/Abs_grad"), which bundlers accept and Node does not. Only for files inside
// @tensorflow packages, try "<specifier>.js", then "<specifier>/index.js".
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const isFile = (url) => {
  const path = fileURLToPath(url);
  return existsSync(path) && statSync(path).isFile();
};

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/node_modules/@tensorflow/') && specifier.startsWith('.') && !/\.[cm]?js$/.test(specifier)) {
    for (const candidate of [`${specifier}.js`, `${specifier}/index.js`]) {
      const url = new URL(candidate, parent);
      if (isFile(url)) return next(url.href, context);
    }
  }
  return next(specifier, context);
}
