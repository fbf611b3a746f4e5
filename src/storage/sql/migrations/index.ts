import type { Migration } from 'kysely';
import { init } from './0001-init.js';
import { lifecycle } from './0002-lifecycle.js';
import { signingKeys } from './0003-signing-keys.js';

/** Every migration this version knows, by name; names sort in the order they run. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-init': init,
  '0002-lifecycle': lifecycle,
  '0003-signing-keys': signingKeys,
});
