/**
 * Fused kernels: one TF.js kernel launch for a step the stock ops spell out in five to ten.
 *
 * A model this small is limited by the fixed cost of each kernel launch, not by arithmetic, so
 * RMSNorm, RoPE, attention and SwiGLU each get a kernel of their own. Every fused op follows
 * the same pattern (see rms-norm.ts):
 *
 *  - a kernel name, registered per backend with `tf.registerKernel` (this file registers the
 *    host-memory backends, cpu and wasm, from one JavaScript implementation; a WebGPU kernel
 *    registers under the same name with `backendName: 'webgpu'`);
 *  - a gradient, registered once per kernel name with `tf.registerGradient`, so the fused op
 *    trains on every backend that has the kernel (it works on whatever backend is active);
 *  - an op function that launches the kernel where the active backend has it and otherwise
 *    runs the same math as composite stock ops, whose own gradients apply;
 *  - where the gradient in stock ops is slow (training runs on wasm), a gradient kernel too
 *    ('…Grad', host backends), which the registered gradient runs where the backend has it and
 *    otherwise falls back to the stock-op gradient it is tested against. Gradient kernels need
 *    not reproduce llama2.c, so they compute in float64 or through the backend's fast matmul.
 *
 * A registered gradient rather than tf.customGrad: customGrad cannot return several outputs
 * (RoPE returns q, k and v), wraps every call in an extra scope, and would have to be repeated
 * by each backend's op; a gradient registered by kernel name applies wherever the kernel runs,
 * as it does for TF.js's own kernels.
 */
import * as tf from '@tensorflow/tfjs-core';

/** True when the active backend has a kernel registered under this name. */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** Runs a registered kernel with one output. */
export function runKernel<T extends tf.Tensor>(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: object = {}): T {
  return tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap) as T;
}

/** Runs a registered kernel with several outputs. */
export function runKernelOutputs(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: object = {}): tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/**
 * Float32 tensor memory on a host backend, seen the same way on cpu (typed arrays) and wasm
 * (views into the WebAssembly heap).
 */
export interface HostMemory {
  /** The tensor's elements. A view: take it after the kernel's last `allocate`, which may move the heap. */
  view(t: tf.TensorInfo): Float32Array;
  /** The same for an int32 tensor (an input the kernel declares as int32). */
  viewInt32(t: tf.TensorInfo): Int32Array;
  /** A new float32 tensor, contents undefined. */
  allocate(shape: number[]): tf.TensorInfo;
  /** Another handle on t's buffer, as Reshape returns: for an output written in place. */
  alias(t: tf.TensorInfo): tf.TensorInfo;
  /** Frees a tensor the kernel allocated for its own use. */
  free(t: tf.TensorInfo): void;
  /**
   * a [m, k] × b [k, n] → a new [m, n], where the backend's matmul beats a JavaScript loop: wasm's
   * runs XNNPACK (for operands without a transpose flag). Absent on cpu, whose matmul is itself a
   * JavaScript loop. Allocates: take views again after it.
   */
  matMul?(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo;
}

/** The parts of the cpu and wasm backends used here (structural types: no backend import). */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
  incRef(dataId: object): void;
  disposeData(dataId: object): void;
}
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
  incRef(dataId: object): void;
  disposeData(dataId: object): void;
}

const size = (shape: number[]) => shape.reduce((n, d) => n * d, 1);

class CpuMemory implements HostMemory {
  constructor(private readonly b: CpuBackendLike) {}
  view(t: tf.TensorInfo): Float32Array {
    return this.b.data.get(t.dataId).values as Float32Array;
  }
  viewInt32(t: tf.TensorInfo): Int32Array {
    return this.b.data.get(t.dataId).values as Int32Array;
  }
  allocate(shape: number[]): tf.TensorInfo {
    return this.b.makeTensorInfo(shape, 'float32', new Float32Array(size(shape)));
  }
  alias(t: tf.TensorInfo): tf.TensorInfo {
    this.b.incRef(t.dataId);
    return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  }
  free(t: tf.TensorInfo): void {
    this.b.disposeData(t.dataId);
  }
}

class WasmMemory implements HostMemory {
  constructor(private readonly b: WasmBackendLike) {}
  view(t: tf.TensorInfo): Float32Array {
    return this.b.typedArrayFromHeap(t) as Float32Array;
  }
  viewInt32(t: tf.TensorInfo): Int32Array {
    return this.b.typedArrayFromHeap(t) as Int32Array;
  }
  allocate(shape: number[]): tf.TensorInfo {
    return this.b.makeOutput(shape, 'float32');
  }
  alias(t: tf.TensorInfo): tf.TensorInfo {
    this.b.incRef(t.dataId);
    return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  }
  free(t: tf.TensorInfo): void {
    this.b.disposeData(t.dataId);
  }
  /** The backend's own BatchMatMul kernel, called directly (as its kernels call each other). */
  matMul(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    const kernel = tf.getKernel(tf.BatchMatMul, 'wasm')!;
    const attrs = { transposeA: false, transposeB: false };
    return kernel.kernelFunc({ inputs: { a, b }, backend: this.b as unknown as tf.KernelBackend, attrs }) as tf.TensorInfo;
  }
}

const memories = new WeakMap<object, HostMemory>();
function hostMemory(backendName: 'cpu' | 'wasm', backend: object): HostMemory {
  let m = memories.get(backend);
  if (!m) {
    m = backendName === 'cpu' ? new CpuMemory(backend as CpuBackendLike) : new WasmMemory(backend as WasmBackendLike);
    memories.set(backend, m);
  }
  return m;
}

export type HostKernelFunc<A> = (
  host: HostMemory,
  inputs: Record<string, tf.TensorInfo>,
  attrs: A,
) => tf.TensorInfo | tf.TensorInfo[];

/** Names of the kernels registered for the host backends (for tests and benchmarks). */
export const hostKernelNames: string[] = [];

/**
 * Registers a kernel written once in JavaScript against HostMemory for the backends that keep
 * tensors in memory JavaScript can address: cpu (typed arrays) and wasm (views into its heap).
 * Inputs are float32 except those named in `int32Inputs` (indices, read with `viewInt32`).
 */
export function registerHostKernel<A>(kernelName: string, fn: HostKernelFunc<A>, int32Inputs: string[] = []): void {
  hostKernelNames.push(kernelName);
  for (const backendName of ['cpu', 'wasm'] as const) {
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        for (const name in inputs) {
          const dtype = (inputs[name] as tf.TensorInfo).dtype;
          const expected = int32Inputs.includes(name) ? 'int32' : 'float32';
          if (dtype !== expected) throw new TypeError(`${kernelName} takes ${expected} for ${name}, got ${dtype}`);
        }
        return fn(hostMemory(backendName, backend), inputs as Record<string, tf.TensorInfo>, attrs as A);
      },
    });
  }
}
