/**
 * MAIL_TEMPLATES_DIR: templates that replace the built-in ones, one file per part, named
 * `KIND.subject.txt`, `KIND.txt` and `KIND.html` (e.g. `test.html`). A part without a file keeps
 * the built-in; a file of another name is refused, so a misspelt one is not silently ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIL_KIND_NAMES, type MailTemplate, type MailTemplateOverrides } from '../core/outbox/mail-templates.js';

const PARTS: ReadonlyArray<readonly [suffix: string, part: keyof MailTemplate]> = [
  ['.subject.txt', 'subject'],
  ['.txt', 'text'],
  ['.html', 'html'],
];

export function loadTemplateOverrides(dir: string): MailTemplateOverrides {
  const overrides: Record<string, Partial<Record<keyof MailTemplate, string>>> = {};
  const unknown: string[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = PARTS.find(([suffix]) => file.endsWith(suffix));
    const kind = match ? file.slice(0, -match[0].length) : undefined;
    if (!match || !kind || !(MAIL_KIND_NAMES as string[]).includes(kind)) {
      unknown.push(file);
      continue;
    }
    (overrides[kind] ??= {})[match[1]] = readFileSync(join(dir, file), 'utf8');
  }
  if (unknown.length > 0) {
    throw new TypeError(
      `MAIL_TEMPLATES_DIR (${dir}) has files that are no template: ${unknown.join(', ')}; ` +
        `expected KIND.subject.txt, KIND.txt or KIND.html for KIND in ${MAIL_KIND_NAMES.join(', ')}`,
    );
  }
  return overrides as MailTemplateOverrides;
}
