/** Plain-text tables for the CLI: a header row, then rows, columns padded to their widest cell. */
export function printTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  for (const row of [header, ...rows]) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  }
}

/** Pretty-printed JSON on stdout, for scripts. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
