/**
 * Reads a point in time that a person typed (an admin's query, a CLI
 * option): an ISO 8601 date, taken as UTC midnight, or a date-time with a
 * time zone. A date-time without a zone is refused rather than read in the
 * server's local time.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

export const ISO_TIME_HINT = 'an ISO 8601 date (2025-05-01) or date-time with a time zone (2025-05-01T12:00:00Z)';

/** Milliseconds since the epoch, or undefined when `value` is not such a date or date-time. */
export function parseIsoTime(value: string): number | undefined {
  const match = ISO_TIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map((part) => (part === undefined ? undefined : Number(part)));
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  // Date.UTC rolls 2025-02-30 over to March; a typo should not silently move the range.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day) return undefined;
  if (hour !== undefined && (hour > 23 || minute! > 59 || (second ?? 0) > 59)) return undefined;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}
