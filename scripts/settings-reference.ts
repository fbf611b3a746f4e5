/**
 * The settings reference of docs/configuration.md, generated from the table of
 * settings (every layer's, joined in src/server/config.ts): one row per setting, in the table's order.
 * `npm run docs:config` writes it (docs-config.ts); test/docs/configuration-reference.test.ts
 * fails when the file is stale.
 */
import { SETTINGS } from '../src/server/config.js';
import type { Setting } from '../src/core/setting-types.js';

export const BEGIN_MARKER =
  '<!-- settings:begin (generated from the settings.ts of src/server, src/storage, src/core, src/http and src/mail by npm run docs:config; do not edit) -->';
export const END_MARKER = '<!-- settings:end -->';

/** A table cell: a `|` would end it. */
function cell(text: string): string {
  return text.replace(/(?<!\\)\|/g, '\\|');
}

export function renderSettingsTable(): string {
  const rows = (Object.entries(SETTINGS) as Array<[string, Setting<unknown>]>).map(
    ([name, setting]) => `| \`${name}\` | ${cell(setting.defaultDoc)} | ${cell(setting.accepts)} | ${cell(setting.doc)} |`,
  );
  return ['| name | default | accepts | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** markdown with the text between the markers replaced by the generated table. */
export function withSettingsReference(markdown: string): string {
  const begin = markdown.indexOf(BEGIN_MARKER);
  const end = markdown.indexOf(END_MARKER);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`docs/configuration.md needs the markers ${BEGIN_MARKER} and ${END_MARKER}, in that order`);
  }
  return `${markdown.slice(0, begin + BEGIN_MARKER.length)}\n${renderSettingsTable()}\n${markdown.slice(end)}`;
}
