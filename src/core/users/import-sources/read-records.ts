/**
 * The file formats the import sources read, each record with its position: JSON (an array, or
 * what the source takes out of an object), CSV with a header row (comma- or, as `mysql --batch`
 * and `wp db query` write it, tab-separated), and JSON lines. A file that is not of its format
 * at all is an ImportFileError; one bad JSON line is that record's rejection.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { ImportFileError } from './import-source.js';

/** A record and where it is (see SourceRecord's `line`), or why it could not be read. */
export type RawRecord = { readonly line: number; readonly value: unknown } | { readonly line: number; readonly error: string };

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ImportFileError(`not valid JSON: ${(error as Error).message}`);
  }
}

/** The items of a JSON array, numbered from 1. */
export function arrayRecords(items: readonly unknown[]): RawRecord[] {
  return items.map((value, index) => ({ line: index + 1, value }));
}

/** Rows of a CSV file with a header row, as objects by column name, numbered by their line in the file. */
export function csvRecords(text: string): RawRecord[] {
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const tabs = header.includes('\t') && !header.includes(',');
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parseCsv(text, {
      columns: true,
      skip_empty_lines: true,
      bom: true,
      info: true,
      trim: true,
      ...(tabs ? { delimiter: '\t', quote: false } : {}),
    }) as never;
  } catch (error) {
    throw new ImportFileError(`not valid CSV: ${(error as Error).message}`);
  }
  return records.map(({ record, info }) => ({ line: info.lines, value: record }));
}

/** One JSON value per non-empty line (NDJSON), numbered by line; a line that is not JSON is rejected alone. */
export function jsonLineRecords(text: string): RawRecord[] {
  const records: RawRecord[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((lineText, index) => {
      if (lineText.trim() === '') return;
      try {
        records.push({ line: index + 1, value: JSON.parse(lineText) });
      } catch (error) {
        records.push({ line: index + 1, error: `not valid JSON: ${(error as Error).message}` });
      }
    });
  return records;
}
