/** The import sources by name (`portcullis users import --from NAME`); each is one module beside this one. */
import { auth0Source } from './auth0-source.js';
import { djangoSource } from './django-source.js';
import { fastapiSource } from './fastapi-source.js';
import { firebaseSource } from './firebase-source.js';
import type { ImportSource, SourceName } from './import-source.js';
import { keycloakSource } from './keycloak-source.js';
import { supabaseSource } from './supabase-source.js';
import { csvSource, jsonlSource } from './tabular-source.js';
import { wordpressSource } from './wordpress-source.js';

export * from './import-source.js';

export const IMPORT_SOURCES: Readonly<Record<SourceName, ImportSource>> = {
  fastapi: fastapiSource,
  csv: csvSource,
  jsonl: jsonlSource,
  django: djangoSource,
  supabase: supabaseSource,
  keycloak: keycloakSource,
  firebase: firebaseSource,
  auth0: auth0Source,
  wordpress: wordpressSource,
};
