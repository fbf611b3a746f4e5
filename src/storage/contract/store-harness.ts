/** What every store contract suite is given: a fresh store, and how to close it afterwards. */
export interface StoreHarness<Store> {
  readonly store: Store;
  close?(): Promise<void>;
}

export interface StoreContractOptions {
  /** A reason to skip the whole suite (e.g. "PostgreSQL is not reachable"). */
  readonly skip?: string | undefined;
}

/** A fixed instant the suites count from: times are arguments of the ports, never read from a clock. */
export const CONTRACT_T0 = Date.parse('2026-01-01T00:00:00.000Z');
