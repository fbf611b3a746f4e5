/**
 * The legacy password hashes of test/fixtures/legacy-hashes/hashes.json: hashes of known
 * passwords made by each source's own tooling (passlib, Django, PHP, openssl), remade by
 * make-fixtures.sh there.
 */
import { readFileSync } from 'node:fs';

export interface LegacyHashFixture {
  /** The tool and scheme that made it, e.g. `passlib pbkdf2_sha256 (1000 rounds)`. */
  readonly source: string;
  readonly password: string;
  readonly hash: string;
  /** Importable only with allowWeak. */
  readonly weak: boolean;
}

export const LEGACY_HASHES: readonly LegacyHashFixture[] = JSON.parse(
  readFileSync(new URL('../fixtures/legacy-hashes/hashes.json', import.meta.url), 'utf8'),
) as LegacyHashFixture[];

/** The first fixture whose source starts with this text (a fixture the test needs must exist). */
export function legacyHash(sourcePrefix: string): LegacyHashFixture {
  const found = LEGACY_HASHES.find((fixture) => fixture.source.startsWith(sourcePrefix));
  if (!found) throw new Error(`no legacy-hash fixture from ${sourcePrefix}`);
  return found;
}
