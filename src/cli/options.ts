/** Parsing option values; a bad one is a UsageError (exit 1) that names the option. */
import { ISO_TIME_HINT, parseIsoTime } from '../core/iso-time.js';
import { parseScopeList } from '../core/tokens/scopes.js';
import { UsageError } from './prompt.js';

/** `--scopes a,b` or `--scopes "a b"`; '' is the empty list. */
export function scopesOption(value: string | undefined, name = '--scopes'): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseScopeList(value);
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
}

export function integerOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(parsed >= min && parsed <= max)) throw new UsageError(`${name} must be an integer from ${min} to ${max}`);
  return parsed;
}

export function timeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseIsoTime(value);
  if (ms === undefined) throw new UsageError(`${name} must be ${ISO_TIME_HINT}`);
  return ms;
}

/**
 * A flag that may be turned off: `--flag` alone (commander's `true`), or `--flag=true|false`
 * (also yes/no, on/off, 1/0).
 */
export function booleanOption(value: string | boolean | undefined, name: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  const word = value.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(word)) return true;
  if (['false', 'no', 'off', '0'].includes(word)) return false;
  throw new UsageError(`${name} must be true or false (got ${JSON.stringify(value)})`);
}

/** Commander's collector for a repeatable option (`--redirect-uri A --redirect-uri B`). */
export function collectOption(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
