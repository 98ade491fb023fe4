// Chapter 5's training widgets in headless Chromium: the loss curves draw every entry of the
// shipped training log (and zoom and hover work), and a short in-page training run on the wasm
// backend lowers the loss it shows, pauses, samples text and resumes, with the page responsive.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import type { TrainingLog } from '../../src/train/training-log.ts';
import { chapterPath, openSession, RESULTS, ROOT, setValue, type Session } from './harness.ts';

const log = JSON.parse(readFileSync(join(ROOT, 'public/models/default/training-log.json'), 'utf8')) as TrainingLog;
const entries = log.entries;
const valEntries = entries.filter((e) => e.valLoss !== undefined);
const count = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

/** Points of the Plot line in `mark` (a `curve-<key>` group): d3 writes "M x,y L x,y …", one L per point after the first. */
async function linePoints(chart: Locator, key: string): Promise<number> {
  const d = await chart.locator(`g.curve-${key} path`).first().getAttribute('d');
  if (!d) return 0;
  return (d.match(/L/g)?.length ?? 0) + 1;
}

const number = async (el: Locator): Promise<number> => Number(((await el.textContent()) ?? '').trim());

let s: Session;
beforeAll(async () => {
  s = await openSession('no-gpu');
}, 120_000);
afterAll(async () => {
  await s?.close();
});

describe('loss curves of the embedded model (chapter 5)', () => {
  it('draw every logged step, zoom to a token range, and show the log’s exact values', async () => {
    const v = await s.open(chapterPath('pretraining'), { viewport: { width: 1100, height: 900 } });
    try {
      const { page } = v;
      const widget = page.getByTestId('loss-curves');
      await widget.scrollIntoViewIfNeeded();
      await expect.poll(() => widget.getAttribute('data-state'), { timeout: 60_000, message: 'the chart draws' }).toBe('drawn');
      const chart = widget.getByTestId('loss-chart');
      const lr = widget.getByTestId('lr-chart');

      // Whole run: one line point per log entry, one dot per validation measurement.
      expect(await linePoints(chart, 'train')).toBe(entries.length);
      expect(await chart.locator('g.curve-val circle').count()).toBe(valEntries.length);
      expect(await linePoints(lr, 'lr')).toBe(entries.length);
      const last = entries[entries.length - 1];
      const lastVal = valEntries[valEntries.length - 1];
      expect(await number(widget.getByTestId('loss-last-step'))).toBe(last.step);
      expect(await widget.getByTestId('loss-last-train').textContent()).toBe(last.trainLoss.toFixed(3));
      expect(await widget.getByTestId('loss-last-val').textContent()).toBe(lastVal.valLoss!.toFixed(3));

      // The caption names the file and the run, from the log itself.
      const caption = (await widget.getByTestId('loss-curves-source').textContent()) ?? '';
      expect(caption).toContain('models/default/training-log.json');
      expect(caption).toContain(`${count.format(last.step)} steps`);
      expect(caption).toContain(`${count.format(last.tokensSeen)} tokens`);
      expect(caption).toContain(log.backend);
      expect(caption).toContain(log.machine);
      if (log.continuedFrom) expect(caption).toContain(`continued from the first one's weights after step ${count.format(log.continuedFrom.steps)}`);

      // Zoom into the first half, then start a quarter of the way in.
      const mid = Math.floor((entries.length - 1) / 2);
      const quarter = Math.floor((entries.length - 1) / 4);
      await setValue(widget.getByTestId('loss-zoom-to'), String(mid));
      await expect.poll(() => linePoints(chart, 'train')).toBe(mid + 1);
      await setValue(widget.getByTestId('loss-zoom-from'), String(quarter));
      await expect.poll(() => linePoints(chart, 'train')).toBe(mid - quarter + 1);
      const inView = entries.slice(quarter, mid + 1);
      expect(await chart.locator('g.curve-val circle').count()).toBe(inView.filter((e) => e.valLoss !== undefined).length);
      expect(await number(widget.getByTestId('loss-last-step'))).toBe(entries[mid].step);
      expect(await widget.getByTestId('loss-last-train').textContent()).toBe(entries[mid].trainLoss.toFixed(3));

      // Hover: the tip names the nearest point's exact loss and step.
      const box = (await chart.locator('svg').first().boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
      const tip = chart.locator('svg [aria-label="tip"]');
      await expect.poll(async () => (await tip.textContent()) ?? '', { timeout: 10_000, message: 'a tip appears on hover' }).toMatch(/loss \d+\.\d{3}.*step \d+/s);
      const tipText = (await tip.textContent())!;
      const step = Number(/step (\d+)/.exec(tipText)![1]);
      const entry = inView.find((e) => e.step === step)!;
      expect(entry, `step ${step} is in the zoomed range`).toBeDefined();
      const shown = Number(/loss (\d+\.\d{3})/.exec(tipText)![1]);
      expect([entry.trainLoss.toFixed(3), entry.valLoss?.toFixed(3)]).toContain(shown.toFixed(3));

      await widget.screenshot({ path: join(RESULTS, 'training/loss-curves-zoomed.png') });
      await widget.getByTestId('loss-zoom-reset').click();
      await expect.poll(() => linePoints(chart, 'train')).toBe(entries.length);
      expect(v.errors).toEqual([]);
      expect(v.offsite).toEqual([]);
    } finally {
      await v.close();
    }
  });
});

describe('training a tiny Llama 2 in the page (chapter 5, wasm)', () => {
  it('lowers the loss it shows; pauses, samples and resumes; the page stays responsive', async () => {
    const v = await s.open(chapterPath('pretraining', '?backend=wasm'), { viewport: { width: 1100, height: 900 } });
    try {
      const { page } = v;
      const widget = page.getByTestId('train-in-page');
      await widget.scrollIntoViewIfNeeded();
      const start = widget.getByTestId('train-start');
      await expect.poll(() => start.isEnabled(), { timeout: 60_000, message: 'the widget hydrates' }).toBe(true);

      // Bad input is refused in words.
      await setValue(widget.getByTestId('train-steps-input'), '3');
      await start.click();
      await expect.poll(() => widget.getByTestId('train-error').textContent()).toMatch(/Steps must be a whole number from 10 to 5000/);

      await setValue(widget.getByTestId('train-preset'), 'tiny');
      await setValue(widget.getByTestId('train-steps-input'), '300');
      await start.click();
      const step = widget.getByTestId('train-stat-step');
      // The embedded model loads first (its tokenizer), then the stories are tokenized: minutes on a busy machine.
      await expect.poll(() => number(step), { timeout: 420_000, interval: 500, message: 'the run reaches step 25' }).toBeGreaterThanOrEqual(25);
      expect(await widget.getAttribute('data-state')).toBe('running');

      // The main thread keeps drawing frames while the worker trains (at 60 Hz, ~60 a second;
      // 10 allows for a loaded test machine, a blocked page would manage one or two).
      const frames = await page.evaluate(
        () =>
          new Promise<number>((ok) => {
            let n = 0;
            const t0 = performance.now();
            const tick = () => (performance.now() - t0 < 1000 ? (n++, requestAnimationFrame(tick)) : ok(n));
            requestAnimationFrame(tick);
          }),
      );
      expect(frames).toBeGreaterThanOrEqual(10);

      // A fresh model's loss starts near ln(vocabulary); 25 steps take off well over half a nat
      // (the Node test of the same code measures about two on this preset), far beyond batch noise.
      const first = await number(widget.getByTestId('train-stat-first-loss'));
      const vocab = (await page.getByTestId('train-run').textContent())!;
      expect(vocab).toContain('tokens of');
      expect(first).toBeGreaterThan(Math.log(log.config.vocabSize) - 0.5);
      await expect.poll(() => number(widget.getByTestId('train-stat-loss')), { timeout: 120_000 }).toBeLessThan(first - 0.5);
      const val = await number(widget.getByTestId('train-stat-val'));
      expect(val).toBeLessThan(first);
      expect(await widget.getByTestId('train-stat-speed').textContent()).toMatch(/^\d+ tokens\/s$/);
      expect(await linePoints(widget.getByTestId('train-chart'), 'train')).toBeGreaterThanOrEqual(25);
      expect(await linePoints(widget.getByTestId('train-chart'), 'recorded')).toBeGreaterThan(0);

      // Pause: after the chunk in flight, the step count stops.
      await widget.getByTestId('train-pause').click();
      await expect.poll(() => widget.getAttribute('data-state')).toBe('paused');
      await page.waitForTimeout(1500);
      const paused = await number(step);
      await page.waitForTimeout(1500);
      expect(await number(step)).toBe(paused);

      // Sample from the model as it is at the paused step.
      await widget.getByTestId('train-sample-button').click();
      const sample = widget.getByTestId('train-sample-text');
      await expect.poll(() => sample.count(), { timeout: 120_000, message: 'a sample appears' }).toBe(1);
      expect(Number(await sample.getAttribute('data-step'))).toBe(paused);
      const text = (await sample.textContent()) ?? '';
      expect(text).toContain(`At step ${paused}:`);
      expect(text).toContain('Once upon a time');
      expect(text.length).toBeGreaterThan(`At step ${paused}: Once upon a time`.length + 5);

      await widget.screenshot({ path: join(RESULTS, 'training/train-in-page-paused.png') });

      // Resume: the steps go on.
      await widget.getByTestId('train-resume').click();
      await expect.poll(() => number(step), { timeout: 120_000, message: 'training resumes' }).toBeGreaterThan(paused);
      await widget.getByTestId('train-pause').click();
      await expect.poll(() => widget.getAttribute('data-state')).toBe('paused');
      expect(v.errors).toEqual([]);
      expect(v.offsite).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
