/** The statistics the enumeration tests judge timings by. */

/** P(a < b) over all pairs: 0.5 when the two samples come from one distribution (the Mann–Whitney AUC). */
export function probabilityLess(a: readonly number[], b: readonly number[]): number {
  let less = 0;
  for (const x of a) for (const y of b) less += x < y ? 1 : x === y ? 0.5 : 0;
  return less / (a.length * b.length);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}
