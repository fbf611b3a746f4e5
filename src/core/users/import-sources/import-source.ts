/**
 * What an import source is (issue 18): a module that turns one system's export into the
 * importer's records (username, stored hash in a form core/passwords/legacy reads, e-mail and
 * whether it is verified, full name, disabled, scopes), or says of each record why it is rejected.
 * Sources only map fields; the importer (../user-import.ts) normalises and checks them, the hash
 * against its format's bounds, and writes. One module per source beside this one; sources.ts
 * lists them.
 */

export const SOURCE_NAMES = ['fastapi', 'csv', 'jsonl', 'django', 'supabase', 'keycloak', 'firebase', 'auth0', 'wordpress'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/** One user as the source gives it; the importer normalises the username, e-mail and name. */
export interface SourceUser {
  readonly username: string;
  readonly passwordHash: string;
  /** Where the hash came from in the source's own words (`password`, `user_pass`, ...), for rejection reasons. */
  readonly hashField: string;
  readonly email: string | null;
  readonly emailVerified: boolean;
  readonly fullName: string | null;
  readonly disabled: boolean;
  readonly scopes: readonly string[];
}

/**
 * A record of the file: a user, or the reason it is rejected. `line` is 1-based: the line of the
 * file for CSV and JSON lines (a CSV header is line 1), the position in the array for JSON.
 */
export type SourceRecord =
  | { readonly line: number; readonly user: SourceUser }
  | { readonly line: number; readonly username: string | undefined; readonly reason: string };

/** Firebase's project-wide scrypt parameters, as its console shows them (Authentication > Users > Password hash parameters). */
export interface FirebaseHashConfig {
  /** base64_signer_key */
  readonly signerKey: string;
  /** base64_salt_separator */
  readonly saltSeparator: string;
  readonly rounds: number;
  readonly memCost: number;
}

export interface SourceOptions {
  /** json or csv where the source reads both (from the file's extension unless given). */
  readonly format?: 'json' | 'csv';
  /** Now, for "banned until" dates. */
  readonly nowMs: number;
  /** Django: staff and superusers get the `admin` scope. */
  readonly adminFromStaff?: boolean;
  /** Keycloak: realm roles become scopes. */
  readonly scopesFromRoles?: boolean;
  readonly firebase?: FirebaseHashConfig;
}

export interface SourceRead {
  readonly records: readonly SourceRecord[];
  /** What the operator should know of the mapping (e.g. staff accounts imported without the admin scope). */
  readonly notes: readonly string[];
}

export interface ImportSource {
  readonly name: SourceName;
  /** The file formats it reads. */
  readonly formats: readonly ('json' | 'csv' | 'jsonl')[];
  read(text: string, options: SourceOptions): SourceRead;
}

/** The file as a whole cannot be read as the source's export (not JSON, not CSV, no users array...). */
export class ImportFileError extends Error {
  override readonly name = 'ImportFileError';
}
