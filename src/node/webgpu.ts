/**
 * WebGPU for TensorFlow.js in Node, through the `webgpu` package (Dawn over Vulkan).
 *
 * Call `await installNodeWebGPU()` before anything imports `@tensorflow/tfjs-backend-webgpu`:
 * that module registers its backend only if `navigator.gpu` exists when it is first evaluated.
 *
 * Vulkan driver (ICD): an explicit VK_ICD_FILENAMES / VK_DRIVER_FILES / VK_ADD_DRIVER_FILES, or
 * an ICD manifest in the standard directories (an NVIDIA driver, Mesa), is left alone. Only when
 * none is found, or when LLAMA_WEBGPU_SWIFTSHADER=1, Vulkan is pointed at SwiftShader (a CPU
 * Vulkan) from Debian's chromium package. The loader reads these variables when Dawn creates its
 * Vulkan instance, so setting process.env here is enough.
 *
 * Vulkan loader (libvulkan.so.1): Dawn dlopen()s it by name. Debian's chromium ships one in
 * /usr/lib/chromium, outside the linker's path, and glibc reads LD_LIBRARY_PATH only at process
 * start, so changing it here has no effect. Instead the library is loaded once by absolute path
 * (RTLD_NODELETE keeps it mapped); Dawn's later dlopen("libvulkan.so.1") then finds it by soname.
 * The equivalent from outside: LD_LIBRARY_PATH=/usr/lib/chromium.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir, constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../engine/errors.ts';

export const CHROMIUM_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = join(CHROMIUM_DIR, 'vk_swiftshader_icd.json');
const VULKAN_LOADER = 'libvulkan.so.1';
const RTLD_NODELETE = 0x1000; // glibc; not in os.constants.dlopen

type Env = Record<string, string | undefined>;

/** Directories where the Vulkan loader looks for ICD manifests on Linux. */
export function icdDirectories(env: Env = process.env): string[] {
  const home = env.HOME ?? homedir();
  const configDirs = [env.XDG_CONFIG_HOME ?? join(home, '.config'), ...(env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':'), '/etc'];
  const dataDirs = [env.XDG_DATA_HOME ?? join(home, '.local/share'), ...(env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':')];
  return [...configDirs, ...dataDirs].filter(Boolean).map((d) => join(d, 'vulkan', 'icd.d'));
}

/** True when a Vulkan driver other than our fallback is configured or installed. */
export function hasVulkanDriver(env: Env = process.env): boolean {
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES) return true;
  return icdDirectories(env).some((dir) => {
    try {
      return readdirSync(dir).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/** Loads libvulkan.so.1 so Dawn can find it; returns where it came from. */
function ensureVulkanLoader(): 'system' | 'chromium' {
  const flags = osConstants.dlopen.RTLD_NOW | RTLD_NODELETE;
  // process.dlopen expects a Node addon: a plain library loads, then "did not self-register".
  const load = (file: string): boolean => {
    try {
      process.dlopen({ exports: {} }, file, flags);
      return true;
    } catch (e) {
      return /did not self-register/.test(String(e));
    }
  };
  if (load(VULKAN_LOADER)) return 'system';
  if (existsSync(join(CHROMIUM_DIR, VULKAN_LOADER)) && load(join(CHROMIUM_DIR, VULKAN_LOADER))) return 'chromium';
  throw new EngineError(
    'backend-unavailable',
    `WebGPU in Node: ${VULKAN_LOADER} not found; install libvulkan1 or chromium, or run with LD_LIBRARY_PATH=${CHROMIUM_DIR}`,
  );
}

function useSwiftShader(env: Env): void {
  if (!existsSync(SWIFTSHADER_ICD)) {
    throw new EngineError(
      'backend-unavailable',
      `WebGPU in Node: no Vulkan driver found and ${SWIFTSHADER_ICD} is missing (apt-get install chromium)`,
    );
  }
  // Older loaders read VK_ICD_FILENAMES, newer ones prefer VK_DRIVER_FILES: set both.
  env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  env.VK_DRIVER_FILES = SWIFTSHADER_ICD;
  delete env.VK_ADD_DRIVER_FILES;
}

type NavigatorHolder = { navigator?: { gpu?: unknown } };

/** Installs `navigator.gpu` (and the GPU* globals) from Dawn. Idempotent. */
export async function installNodeWebGPU(): Promise<void> {
  const g = globalThis as unknown as NavigatorHolder;
  if (g.navigator?.gpu) return;
  if (process.platform === 'linux') {
    if (process.env.LLAMA_WEBGPU_SWIFTSHADER === '1' || !hasVulkanDriver()) useSwiftShader(process.env);
    ensureVulkanLoader();
  }
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (e) {
    throw new EngineError('backend-unavailable', `WebGPU in Node: cannot load the webgpu package: ${String(e)}`);
  }
  Object.assign(globalThis, webgpu.globals);
  // Node ≥ 21 has a navigator object (getter only); older versions have none.
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  g.navigator!.gpu = webgpu.create([]);
}

/** The WebGPU adapter's name as Dawn reports it (for logs that say where something ran). */
export async function webgpuAdapterName(): Promise<string> {
  const gpu = (globalThis as unknown as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const info = (await gpu?.requestAdapter())?.info;
  if (!info) return 'unknown WebGPU adapter';
  return [info.description || info.device || info.architecture, `(${info.vendor || 'unknown vendor'}, WebGPU)`].filter(Boolean).join(' ');
}
