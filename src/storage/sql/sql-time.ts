/** Timestamps are stored as ISO 8601 UTC text with milliseconds: portable, and they sort as text. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function fromIso(value: string): number {
  return Date.parse(value);
}

export function fromIsoOrNull(value: string | null): number | null {
  return value === null ? null : Date.parse(value);
}
