/** How the command line names a database to a person: its kind and where it is, never the user or password. */
import type { DatabaseLocation } from '../storage/settings.js';

export interface PostgresTarget {
  readonly host: string;
  readonly port: string;
  readonly database: string;
}

/** Where a postgres:// URL points, without the user or password. */
export function postgresTarget(url: string): PostgresTarget {
  const parsed = new URL(url);
  const host = decoded(parsed.hostname).toLowerCase() || parsed.searchParams.get('host') || 'localhost';
  const database = decoded(parsed.pathname.slice(1)) || decoded(parsed.username) || 'postgres';
  return { host, port: parsed.port || '5432', database };
}

/** The kind, and the file or host and database: never the user or password. */
export function describeLocation(location: DatabaseLocation): string {
  if (location.kind === 'sqlite') return `sqlite ${location.path}`;
  const { host, port, database } = postgresTarget(location.url);
  return `postgres ${host}:${port}/${database}`;
}

export function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
