/**
 * PostgreSQL for the tests: the server on 127.0.0.1:5432 (database `test`)
 * unless TEST_POSTGRES_URL says otherwise. Each test server gets a database
 * of its own, created from that connection and dropped afterwards, so tests
 * running side by side never see each other's rows. Tests that need
 * PostgreSQL skip, saying why, when it does not answer; under CI=true they
 * fail instead, so CI cannot pass without running them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** true when the end-to-end suite runs against PostgreSQL (the second pass of `npm test`). */
export const ON_POSTGRES = process.env.TEST_DATABASE === 'postgres';

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** undefined when PostgreSQL answers; otherwise the reason to skip. Throws under CI=true. */
export async function postgresSkipReason(): Promise<string | undefined> {
  try {
    await withAdmin((client) => client.query('select 1'));
    return undefined;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL at ${TEST_POSTGRES_URL} is not reachable, and CI=true requires the PostgreSQL tests: ${why}`);
    }
    return `PostgreSQL at ${TEST_POSTGRES_URL} is not reachable (${why}); start it or set TEST_POSTGRES_URL to run these tests`;
  }
}

export interface TestDatabase {
  /** A DATABASE_URL for Portcullis. */
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `portcullis_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    // FORCE: a server that was killed may have left connections behind.
    drop: () => withAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** Portcullis change listeners connected to a database (one per instance), seen from PostgreSQL's side. */
export async function changeListenerCount(databaseName: string): Promise<number> {
  return withAdmin(async (client) => {
    // Not by its last query: the listener's heartbeat (select 1) replaces the LISTEN there.
    const result = await client.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity where datname = $1 and application_name = 'portcullis-changes' and backend_type = 'client backend'`,
      [databaseName],
    );
    return Number(result.rows[0]?.n ?? 0);
  });
}
