/** Plain-text tables for the CLI: a header row, then rows, columns padded to their widest cell. */
export function printTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  for (const row of [header, ...rows]) {
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  }
}

/** Pretty-printed JSON on stdout, for scripts. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/**
 * A credential shown once, as the command's result on stdout (`name=value` lines, for scripts to
 * capture): never through a logger, never on stderr, and the only place the CLI prints one.
 */
export function printCredentials(fields: Readonly<Record<string, string>>): void {
  process.stdout.write(
    Object.entries(fields)
      .map(([name, value]) => `${name}=${value}\n`)
      .join(''),
  );
}
