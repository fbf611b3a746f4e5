/**
 * Work done after a request is answered (issue 14): a request that must be answered alike whether
 * or not its account exists (a reset mail, a verification link, a sign-in link) is answered first,
 * and its look-up and mail are done here, on a later turn of the event loop, once the answer is
 * written (a synchronous driver such as SQLite's would otherwise run the look-up before the answer
 * leaves). Bounded: past `maxPending` in hand, a request's work is dropped (and said to `onError`),
 * so a flood the rate limits did not stop cannot grow memory.
 */
export class DeferredWork {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly name: string,
    private readonly onError: (error: unknown) => void,
    private readonly maxPending = 1000,
  ) {}

  /** Starts `work` on a later turn of the event loop; never throws, never rejects. */
  defer(work: () => Promise<void>): void {
    if (this.pending.size >= this.maxPending) {
      this.onError(new Error(`more than ${this.maxPending} ${this.name} requests in hand: this one is dropped`));
      return;
    }
    const running: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((error: unknown) => this.onError(error))
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
