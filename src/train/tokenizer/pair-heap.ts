/**
 * Max-heap of candidate merges as (count, pair key): the highest count first, the smaller key on
 * ties, so training is deterministic. Entries go stale when a count changes; the trainer pushes
 * the new count and skips stale entries as they surface. Parallel typed arrays rather than
 * objects: training pushes millions of entries.
 */
export class PairHeap {
  private counts = new Float64Array(1024);
  private keys = new Float64Array(1024);
  size = 0;

  push(count: number, key: number): void {
    if (this.size === this.counts.length) {
      const counts = new Float64Array(2 * this.size);
      const keys = new Float64Array(2 * this.size);
      counts.set(this.counts);
      keys.set(this.keys);
      this.counts = counts;
      this.keys = keys;
    }
    const { counts, keys } = this;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!ahead(count, key, counts[parent], keys[parent])) break;
      counts[i] = counts[parent];
      keys[i] = keys[parent];
      i = parent;
    }
    counts[i] = count;
    keys[i] = key;
  }

  /** The best entry's count. Only when not empty. */
  topCount(): number {
    return this.counts[0];
  }

  /** Removes the best entry and returns its key. Only when not empty. */
  pop(): number {
    const { counts, keys } = this;
    const top = keys[0];
    const n = --this.size;
    const count = counts[n];
    const key = keys[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && ahead(counts[child + 1], keys[child + 1], counts[child], keys[child])) child++;
      if (!ahead(counts[child], keys[child], count, key)) break;
      counts[i] = counts[child];
      keys[i] = keys[child];
      i = child;
    }
    counts[i] = count;
    keys[i] = key;
    return top;
  }
}

const ahead = (countA: number, keyA: number, countB: number, keyB: number): boolean =>
  countA > countB || (countA === countB && keyA < keyB);
