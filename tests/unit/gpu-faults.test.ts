// How a device's out-of-band reports are told apart (gpu-faults.ts), on a stand-in device: the
// real ones (SwiftShader) are in tests/slow/gpu-faults-webgpu.test.ts, which cannot exhaust a
// GPU's memory on purpose.
import { describe, expect, it } from 'vitest';
import { faultOf, watchDevice, type WatchedDevice } from '../../src/engine/gpu-faults.ts';

class GPUOutOfMemoryError {
  constructor(readonly message: string) {}
}
class GPUValidationError {
  constructor(readonly message: string) {}
}

function standInDevice() {
  const listeners: ((e: { error: { message: string } }) => void)[] = [];
  let lose: (info: { reason: string; message: string }) => void = () => {};
  const device: WatchedDevice = {
    addEventListener: (_type, listener) => listeners.push(listener),
    lost: new Promise((resolve) => (lose = resolve)),
    pushErrorScope: () => {},
    popErrorScope: async () => null,
  };
  return { device, report: (error: { message: string }) => listeners.forEach((l) => l({ error })), lose };
}

describe('GPU faults', () => {
  it('tells an allocation that failed from a refused command, and keeps the first', () => {
    const { device, report } = standInDevice();
    watchDevice(device);
    watchDevice(device); // a second watch adds no second listener
    expect(faultOf(device)).toBeNull();
    report(new GPUOutOfMemoryError('Out of memory.\n - While calling [Device].CreateBuffer'));
    report(new GPUValidationError('Buffer is invalid'));
    expect(faultOf(device)).toEqual({ kind: 'out-of-memory', message: 'Out of memory.' });

    const other = standInDevice();
    watchDevice(other.device);
    other.report(new GPUValidationError('Buffer size (2) exceeds the max buffer size limit (1).\n - While calling ...'));
    expect(faultOf(other.device)).toEqual({ kind: 'validation', message: 'Buffer size (2) exceeds the max buffer size limit (1).' });
  });

  it('records a lost device with its message', async () => {
    const { device, lose } = standInDevice();
    watchDevice(device);
    lose({ reason: 'unknown', message: 'The GPU process crashed' });
    await device.lost;
    await Promise.resolve();
    expect(faultOf(device)).toEqual({ kind: 'lost', message: 'The GPU process crashed' });
  });

  it('knows nothing of a device it does not watch', () => {
    expect(faultOf(standInDevice().device)).toBeNull();
  });
});
