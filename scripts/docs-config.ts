/** npm run docs:config: writes the settings reference into docs/configuration.md, between its markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withSettingsReference } from './settings-reference.js';

const path = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const before = readFileSync(path, 'utf8');
const after = withSettingsReference(before);
if (after === before) console.log('docs/configuration.md: the settings reference is up to date');
else {
  writeFileSync(path, after);
  console.log('docs/configuration.md: the settings reference is rewritten');
}
