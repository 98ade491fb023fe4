/**
 * A decode step recorded once on the webgpu backend and replayed for every later token.
 *
 * Each program TF.js launches costs tens of microseconds of JavaScript and native calls (the
 * shader key, a uniform buffer written, a bind group made, the dispatch recorded), and a
 * Llama-2-7B step is a few hundred launches: enqueueing took as long as the GPU's work. Yet
 * every decode step launches the same programs on the same buffers: the weights, the in-place
 * KV cache, and activations of fixed shapes. Only the token's embedding and the position change,
 * and the programs read both from buffers (the position: position.ts). So one step runs
 * normally while every launch is recorded with its pipeline, a bind group of its buffers, its
 * uniform buffer and its grid; a replay writes the new embedding and position into the recorded
 * inputs and dispatches the launches again in one compute pass: three calls per launch, which
 * can be made for the next step while the GPU runs this one (encode, then submit).
 *
 * The recording holds a reference to every buffer it binds, so nothing it reads or writes is
 * handed to another tensor while it lives (tf.memory() counts those intermediates as freed).
 *
 * This reaches into TF.js 4.22's webgpu backend (`RecordingBackend` below names what it uses);
 * the replay-equals-forward tests pin that contract.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGpuBackendLike, WebGpuProgram } from './program.ts';

type GpuObject = object;

interface ComputePass {
  setPipeline(pipeline: GpuObject): void;
  setBindGroup(index: number, group: GpuObject): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
  end(): void;
}

interface CommandEncoder {
  copyBufferToBuffer(from: GpuObject, fromOffset: number, to: GpuObject, toOffset: number, size: number): void;
  beginComputePass(): ComputePass;
  finish(): GpuObject;
}

/** The webgpu backend's members a recording uses (TF.js 4.22). */
interface RecordingBackend extends WebGpuBackendLike {
  device: {
    createBindGroup(descriptor: { layout: GpuObject; entries: { binding: number; resource: { buffer: GpuObject } }[] }): GpuObject;
    createCommandEncoder(): CommandEncoder;
  };
  queue: { submit(buffers: GpuObject[]): void };
  tensorMap: { get(dataId: object): { resource: GpuObject | null; values: unknown } | undefined };
  /** Uniform buffers made for launches not yet submitted; released to the pool at the next submit. */
  uniformPendingDisposal: GpuObject[];
  bufferManager: { releaseBuffer(buffer: GpuObject): void };
  recordAndSubmit(program: RecordedProgram, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: unknown): void;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** A program as runWebGPUProgram leaves it: compiled, its grid fitted to the device. */
interface RecordedProgram extends WebGpuProgram {
  pipeline: { getBindGroupLayout(index: number): GpuObject };
}

interface Launch {
  pipeline: GpuObject;
  bindGroup: GpuObject;
  dispatch: [number, number, number];
}

const SUBMIT_BATCH = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';

/** A replay encoded ahead of its inputs (StepRecording.encode). */
export interface EncodedReplay {
  commands: GpuObject;
  outputs: tf.TensorInfo[];
}

export class StepRecording {
  private disposed = false;

  private constructor(
    private readonly backend: RecordingBackend,
    private readonly launches: Launch[],
    /** One entry per reference taken (a buffer bound twice is held twice). */
    private readonly held: object[],
    private readonly uniformBuffers: GpuObject[],
  ) {}

  /** True where steps can be recorded: the webgpu backend. */
  static available(): boolean {
    return tf.getBackend() === 'webgpu';
  }

  /**
   * Runs `step` (its result is real: the step runs normally) and records its launches.
   * `inputs` are the tensors a replay will rewrite; they are put on the GPU first. The recording
   * is null, with the reason, when the step did something a replay would not repeat: upload host
   * data of its own (only the inputs given to `replay` may change).
   */
  static record<T>(inputs: tf.Tensor[], step: () => T): { result: T; recording: StepRecording | null; reason?: string } {
    const backend = tf.backend() as unknown as RecordingBackend;
    const own = Object.getPrototypeOf(backend) as RecordingBackend;
    for (const t of inputs) backend.uploadToGPU(t.dataId);
    const launches: Launch[] = [];
    const held: object[] = [];
    const uniformBuffers: GpuObject[] = [];
    let reason: string | undefined;
    const env = tf.env();
    const batch = env.get(SUBMIT_BATCH);
    // No submit while recording: each launch's uniform buffer is still pending when taken below.
    env.set(SUBMIT_BATCH, Number.MAX_SAFE_INTEGER);
    backend.recordAndSubmit = (program, output, inputs, uniforms) => {
      const pending = backend.uniformPendingDisposal.length;
      own.recordAndSubmit.call(backend, program, output, inputs, uniforms);
      if (backend.uniformPendingDisposal.length !== pending + 1) {
        reason ??= `${program.shaderKey} did not leave one uniform buffer pending`;
        return;
      }
      const uniform = backend.uniformPendingDisposal.pop()!;
      uniformBuffers.push(uniform);
      const bound = [output, ...inputs];
      const entries = bound.map((t, binding) => ({ binding, resource: { buffer: bufferOf(backend, t) } }));
      entries.push({ binding: bound.length, resource: { buffer: uniform } });
      for (const t of bound) {
        backend.incRef(t.dataId);
        held.push(t.dataId);
      }
      const [x, y, z] = program.dispatch;
      launches.push({ pipeline: program.pipeline, bindGroup: backend.device.createBindGroup({ layout: program.pipeline.getBindGroupLayout(0), entries }), dispatch: [x, y, z] });
    };
    backend.uploadToGPU = (dataId) => {
      const data = backend.tensorMap.get(dataId);
      if (data && data.resource == null && data.values != null) reason ??= 'the step uploads host data of its own';
      own.uploadToGPU.call(backend, dataId);
    };
    let result: T;
    try {
      result = step();
    } finally {
      delete (backend as Partial<RecordingBackend>).recordAndSubmit;
      delete (backend as Partial<RecordingBackend>).uploadToGPU;
      env.set(SUBMIT_BATCH, batch);
    }
    const recording = new StepRecording(backend, launches, held, uniformBuffers);
    if (reason === undefined) return { result, recording };
    recording.dispose();
    return { result, recording: null, reason };
  }

  /** Launches per replay. */
  get size(): number {
    return this.launches.length;
  }

  /**
   * Encodes the launches, then a copy of each of `outputs` (tensors the step wrote) into a fresh
   * tensor, for `submit` to run once the inputs are known: the next step is encoded while the
   * GPU runs this one. The copies are what a replay hands out, since a tensor read back keeps its
   * values on the CPU and the recorded one will change.
   */
  encode(outputs: tf.Tensor[]): EncodedReplay {
    if (this.disposed) throw new Error('replay of a disposed step recording');
    const b = this.backend;
    const encoder = b.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const { pipeline, bindGroup, dispatch } of this.launches) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(dispatch[0], dispatch[1], dispatch[2]);
    }
    pass.end();
    const copies = outputs.map((t) => {
      const info = b.makeTensorInfo(t.shape, t.dtype);
      b.uploadToGPU(info.dataId); // a buffer, no data
      encoder.copyBufferToBuffer(bufferOf(b, t), 0, bufferOf(b, info), 0, t.size * 4);
      return info;
    });
    return { commands: encoder.finish(), outputs: copies };
  }

  /**
   * Runs an encoded replay (once) after copying each `inputs` pair's source into its target (a
   * tensor the recorded step read); returns the replay's outputs.
   */
  submit(encoded: EncodedReplay, inputs: [source: tf.Tensor, target: tf.Tensor][]): tf.Tensor[] {
    const b = this.backend;
    for (const [source] of inputs) b.uploadToGPU(source.dataId);
    // Everything TF.js has recorded so far (those uploads included) goes to the queue first.
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.submitQueue();
    const encoder = b.device.createCommandEncoder();
    for (const [source, target] of inputs) {
      if (source.size !== target.size || source.dtype !== target.dtype) throw new RangeError(`replay input ${source.dtype} [${source.shape}] does not fit the recorded ${target.dtype} [${target.shape}]`);
      encoder.copyBufferToBuffer(bufferOf(b, source), 0, bufferOf(b, target), 0, target.size * 4);
    }
    b.queue.submit([encoder.finish(), encoded.commands]);
    return encoded.outputs.map((info) => tf.engine().makeTensorFromTensorInfo(info, b as unknown as tf.KernelBackend));
  }

  /** Frees an encoded replay that will not be submitted. */
  discard(encoded: EncodedReplay): void {
    for (const info of encoded.outputs) this.backend.disposeData(info.dataId);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const dataId of this.held) this.backend.disposeData(dataId);
    for (const buffer of this.uniformBuffers) this.backend.bufferManager.releaseBuffer(buffer);
  }
}

function bufferOf(backend: RecordingBackend, t: tf.TensorInfo): GpuObject {
  const resource = backend.tensorMap.get(t.dataId)?.resource;
  if (!resource) throw new Error(`a recorded tensor [${t.shape}] has no GPU buffer`);
  return resource;
}
