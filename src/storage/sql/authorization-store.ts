/** Authorization codes and consents over Kysely (migration 0011). A code is used once: the UPDATE that marks it decides. */
import type { Selectable } from 'kysely';
import type { AuthorizationCodeRecord, AuthorizationStore, CodeUse } from '../../core/authorization/authorization-code.js';
import type { AuthMethod } from '../../core/factors/factor.js';
import { randomToken } from '../../core/secrets.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { AuthorizationCodesTable } from './schema.js';
import { fromIso, iso } from './sql-time.js';

const list = (value: string): string[] => (value === '' ? [] : value.split(' '));

export class SqlAuthorizationStore implements AuthorizationStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  async saveCode(record: AuthorizationCodeRecord, pruneBeforeMs: number): Promise<void> {
    await guardDriverErrors(this.dialect, () =>
      this.db.deleteFrom('authorization_codes').where('expires_at', '<', iso(pruneBeforeMs)).execute(),
    );
    await guardDriverErrors(this.dialect, () =>
      this.db
        .insertInto('authorization_codes')
        .values({
          code_hash: record.codeHash,
          client_id: record.clientId,
          user_id: record.userId,
          redirect_uri: record.redirectUri,
          redirect_uri_given: record.redirectUriGiven ? 1 : 0,
          code_challenge: record.codeChallenge,
          scope: record.scopes.join(' '),
          nonce: record.nonce,
          browser_session_id: record.browserSessionId,
          amr: record.authentication.amr.join(' '),
          acr: record.authentication.acr,
          auth_time: iso(record.authentication.authTime),
          created_at: iso(record.createdAt),
          expires_at: iso(record.expiresAt),
          used_at: null,
          session_id: null,
        })
        .execute(),
    );
  }

  async useCode(codeHash: string, nowMs: number): Promise<CodeUse | undefined> {
    return guardDriverErrors(this.dialect, () =>
      this.db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
        if (!row) return undefined;
        const marked = await trx
          .updateTable('authorization_codes')
          .set({ used_at: iso(nowMs) })
          .where('code_hash', '=', codeHash)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        return { record: toRecord(row), firstUse: marked.numUpdatedRows > 0n };
      }),
    );
  }

  async setCodeSession(codeHash: string, sessionId: string): Promise<void> {
    await guardDriverErrors(this.dialect, () =>
      this.db.updateTable('authorization_codes').set({ session_id: sessionId }).where('code_hash', '=', codeHash).execute(),
    );
  }

  async consentedScopes(userId: string, clientId: string): Promise<readonly string[] | undefined> {
    const row = await guardDriverErrors(this.dialect, () =>
      this.db
        .selectFrom('client_consents')
        .select('scope')
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst(),
    );
    return row && list(row.scope);
  }

  async saveConsent(userId: string, clientId: string, scopes: readonly string[], nowMs: number): Promise<void> {
    await guardDriverErrors(this.dialect, () =>
      this.db.transaction().execute(async (trx) => {
        const held = await trx
          .selectFrom('client_consents')
          .select('scope')
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .executeTakeFirst();
        const scope = [...new Set([...(held ? list(held.scope) : []), ...scopes])].join(' ');
        await trx
          .insertInto('client_consents')
          .values({ id: randomToken(16), user_id: userId, client_id: clientId, scope, granted_at: iso(nowMs) })
          .onConflict((conflict) => conflict.columns(['user_id', 'client_id']).doUpdateSet({ scope, granted_at: iso(nowMs) }))
          .execute();
      }),
    );
  }
}

function toRecord(row: Selectable<AuthorizationCodesTable>): AuthorizationCodeRecord {
  return {
    codeHash: row.code_hash,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    redirectUriGiven: row.redirect_uri_given === 1,
    codeChallenge: row.code_challenge,
    scopes: list(row.scope),
    nonce: row.nonce,
    browserSessionId: row.browser_session_id,
    authentication: { amr: list(row.amr) as AuthMethod[], acr: row.acr, authTime: fromIso(row.auth_time) },
    createdAt: fromIso(row.created_at),
    expiresAt: fromIso(row.expires_at),
    usedAt: row.used_at === null ? null : fromIso(row.used_at),
    sessionId: row.session_id,
  };
}
