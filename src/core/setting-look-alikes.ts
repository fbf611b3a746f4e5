/**
 * Environment variables that look like a Portcullis setting but are not one (ACCESS_TOKEN_EXPIRES_MINUTES for
 * ACCESS_TOKEN_EXPIRE_MINUTES), which would otherwise be ignored silently: the name in another letter case, a
 * few edits away (one per five characters of the name; shorter names by letter case only), or a longer name's
 * first two words followed by more. The known names are the tables' (SETTING_NAMES, server/config.ts); only names are compared,
 * never a value (ADR 0020).
 */

export interface LookAlikeSetting {
  /** The variable as set. */
  readonly name: string;
  /** The setting it most likely meant. */
  readonly suggestion: string;
}

/** Never taken for ours: the runtime's, npm's, and variables every machine has. */
const IGNORED_PREFIXES = ['NODE_', 'npm_', 'NPM_'];
const IGNORED_NAMES = new Set([
  'PATH',
  'HOME',
  'CI',
  'PWD',
  'OLDPWD',
  'SHELL',
  'USER',
  'LOGNAME',
  'HOSTNAME',
  'TERM',
  'LANG',
  'TZ',
  'TMPDIR',
]);

export function findLookAlikeSettings(names: Iterable<string>, known: ReadonlySet<string>): LookAlikeSetting[] {
  const found: LookAlikeSetting[] = [];
  for (const name of names) {
    if (known.has(name) || IGNORED_NAMES.has(name) || IGNORED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    const suggestion = closestSetting(name.toUpperCase(), known);
    if (suggestion !== undefined) found.push({ name, suggestion });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The warning, naming the variable and the setting, never the value. */
export function describeLookAlike(lookAlike: LookAlikeSetting): string {
  return `${lookAlike.name} is set, but it is not a Portcullis setting and is ignored; did you mean ${lookAlike.suggestion}?`;
}

function closestSetting(name: string, known: ReadonlySet<string>): string | undefined {
  let best: { readonly setting: string; readonly distance: number } | undefined;
  for (const setting of known) {
    const family = startsWithFamily(name, setting);
    // The distance is at least the difference in length: most pairs are ruled out without computing it
    // (computing it for every variable and every setting cost ~0.1-0.4 s of each start).
    if (!family && Math.abs(name.length - setting.length) > allowedEdits(setting)) continue;
    const distance = editDistance(name, setting, family ? Infinity : allowedEdits(setting));
    if (distance > allowedEdits(setting) && !family) continue;
    if (best === undefined || distance < best.distance) best = { setting, distance };
  }
  return best?.setting;
}

function allowedEdits(setting: string): number {
  return setting.length < 6 ? 0 : Math.floor(setting.length / 5);
}

/** `name` starts with the first two words of `setting` (of at least two), then an underscore. */
function startsWithFamily(name: string, setting: string): boolean {
  const words = setting.split('_');
  if (words.length < 2 || words[0] === '' || words[1] === '') return false;
  return name.startsWith(`${words[0]}_${words[1]}_`);
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions, and swaps of neighbours.
 * Past `limit` it may stop early and return any number above `limit`.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  // The table's rows i-2, i-1 and i, each of b.length + 1 cells.
  let before = new Uint16Array(b.length + 1);
  let previous = new Uint16Array(b.length + 1);
  let row = Uint16Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    [before, previous, row] = [previous, row, before];
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, before[j - 2]! + 1);
      row[j] = distance;
    }
    // The distance is at least the smallest cell of the last two rows (a swap reaches back two).
    if (Math.min(...row, ...previous) > limit) return limit + 1;
  }
  return row[b.length]!;
}
