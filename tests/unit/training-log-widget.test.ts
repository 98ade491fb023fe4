// The loss-curve widget's reading of training-log.json: the shipped log passes as it is, whatever
// run it records; a malformed one fails with a message that says what is wrong.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTrainingLog, describeRun } from '../../components/widgets/training/training-log.ts';

const shipped = JSON.parse(readFileSync(join(import.meta.dirname, '../../public/models/default/training-log.json'), 'utf8'));

describe('checkTrainingLog', () => {
  it('accepts the shipped log and names its run from the file itself', () => {
    const log = checkTrainingLog(shipped);
    const last = shipped.entries[shipped.entries.length - 1];
    expect(describeRun(log)).toEqual({ steps: last.step, tokens: last.tokensSeen, backend: shipped.backend, machine: shipped.machine });
  });

  it('says what is missing in a malformed log', () => {
    expect(() => checkTrainingLog(null)).toThrow(/no "entries" list/);
    expect(() => checkTrainingLog({ entries: [] })).toThrow(/no logged steps/);
    const entry = { step: 1, tokensSeen: 10, lr: 1e-3, trainLoss: 5 };
    expect(() => checkTrainingLog({ entries: [entry, { ...entry, trainLoss: 'x' }] })).toThrow(/entry 1 has no numeric "trainLoss"/);
    expect(() => checkTrainingLog({ entries: [{ ...entry, valLoss: null }] })).toThrow(/entry 0 has a "valLoss" that is not a number/);
  });
});
