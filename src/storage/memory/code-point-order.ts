/**
 * Compares strings by Unicode code point, as the SQL stores' key columns do
 * (SQLite's binary collation, PostgreSQL's "C"): UTF-8 byte order is code
 * point order. JavaScript's `<` compares UTF-16 code units, which puts
 * U+E000..U+FFFF after the astral planes.
 */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
