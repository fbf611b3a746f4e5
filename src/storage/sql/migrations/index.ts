import type { Migration } from 'kysely';
import { init } from './0001-init.js';

/** Every migration this version knows, by name; names sort in the order they run. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-init': init,
});
