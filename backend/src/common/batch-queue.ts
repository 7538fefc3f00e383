/**
 * Runs submitted items in batches of up to `max`, at most `concurrency` batches at a time.
 * A batch starts as soon as a slot is free, so a lone item waits for nothing; items queue up
 * (and so share a batch) only while every slot is busy.
 */
export class BatchQueue<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private running = 0;

  constructor(
    private readonly max: number,
    private readonly concurrency: number,
    /** Answers every item, in order: a result, or the Error that item failed with. */
    private readonly run: (items: T[]) => Promise<Array<R | Error>>,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.max);
      this.running++;
      this.run(batch.map((b) => b.item))
        .then(
          (out) => batch.forEach((b, i) => (out[i] instanceof Error ? b.reject(out[i]) : b.resolve(out[i] as R))),
          (e) => batch.forEach((b) => b.reject(e)),
        )
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
