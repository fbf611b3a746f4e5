/**
 * Exit codes and error messages of the command line. On their own, so that
 * `portcullis --version` or a usage error does not load the database and
 * hashing code that the commands need.
 */
import { ConfigError } from '../core/config.js';

export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_FAILURE = 2;

export function describeError(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
