/** UserStore over Kysely, written once for every SQL dialect. */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { StorageUnavailableError } from '../../core/errors.js';
import type { NewUser, StorageHealth, UserFilter, UserImportBatch, UserListPage, UserPatch, UserStore } from '../../core/ports.js';
import type { User } from '../../core/users/user.js';
import { sql } from 'kysely';
import type { SqlDialect } from './dialects/dialect.js';
import type { UsersTable } from './schema.js';
import { iso } from './sql-time.js';
import { emailKey } from '../../core/users/user-fields.js';
import { guardDriverErrors } from './driver-errors.js';

const INSERT_BATCH = 200;

export class SqlUserStore implements UserStore, StorageHealth {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  async findByKey(usernameKey: string): Promise<User | undefined> {
    const row = await this.guard(() => this.db.selectFrom('users').selectAll().where('username_key', '=', usernameKey).executeTakeFirst());
    return row && toUser(row);
  }

  async create(user: NewUser, nowMs: number): Promise<User> {
    const row = toRow(user, nowMs);
    await this.guard(() => this.db.insertInto('users').values(row).execute());
    return toUser(row);
  }

  async createMany(users: readonly NewUser[], nowMs: number): Promise<void> {
    if (users.length === 0) return;
    await this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        for (let i = 0; i < users.length; i += INSERT_BATCH) {
          const batch = users.slice(i, i + INSERT_BATCH).map((user) => toRow(user, nowMs));
          await trx.insertInto('users').values(batch).execute();
        }
      }),
    );
  }

  async importMany(batch: UserImportBatch, nowMs: number): Promise<string[]> {
    if (batch.create.length === 0 && batch.replace.length === 0) return [];
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        for (let i = 0; i < batch.create.length; i += INSERT_BATCH) {
          const rows = batch.create.slice(i, i + INSERT_BATCH).map((user) => toRow(user, nowMs));
          await trx.insertInto('users').values(rows).execute();
        }
        const ids: string[] = [];
        for (const user of batch.replace) {
          const current = await trx
            .selectFrom('users')
            .select(['id', 'password_hash', 'token_version'])
            .where('username_key', '=', user.usernameKey)
            .executeTakeFirst();
          if (!current) continue;
          const row = toRow(user, nowMs);
          await trx
            .updateTable('users')
            .set({
              password_hash: row.password_hash,
              email: row.email,
              email_key: row.email_key,
              email_verified: row.email_verified,
              full_name: row.full_name,
              disabled: row.disabled,
              updated_at: row.updated_at,
              // A new hash is a new password: earlier access tokens stop working, as after a change.
              token_version: current.password_hash === row.password_hash ? current.token_version : current.token_version + 1,
            })
            .where('id', '=', current.id)
            .execute();
          ids.push(current.id);
        }
        return ids;
      }),
    );
  }

  async list(filter: UserFilter): Promise<UserListPage> {
    let query = this.db
      .selectFrom('users')
      .selectAll()
      .orderBy('username_key')
      .limit(filter.limit + 1);
    if (filter.after !== undefined) query = query.where('username_key', '>', filter.after);
    if (filter.prefix !== undefined && filter.prefix !== '') {
      // Range instead of LIKE: no wildcard escaping, and the unique index serves it.
      query = query.where('username_key', '>=', filter.prefix).where('username_key', '<', `${filter.prefix}\u{10FFFF}`);
    }
    if (filter.disabled !== undefined) query = query.where('disabled', '=', filter.disabled ? 1 : 0);
    const rows = await this.guard(() => query.execute());
    const page = rows.slice(0, filter.limit).map(toUser);
    const last = page[page.length - 1];
    return { users: page, next: rows.length > filter.limit && last ? last.usernameKey : undefined };
  }

  async existingKeys(usernameKeys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < usernameKeys.length; i += 500) {
      const chunk = usernameKeys.slice(i, i + 500);
      const rows = await this.guard(() => this.db.selectFrom('users').select('username_key').where('username_key', 'in', chunk).execute());
      for (const row of rows) found.add(row.username_key);
    }
    return found;
  }

  async setDisabled(usernameKey: string, disabled: boolean, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('users')
        .set({ disabled: disabled ? 1 : 0, updated_at: iso(nowMs) })
        .where('username_key', '=', usernameKey)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async remove(usernameKey: string): Promise<boolean> {
    const result = await this.guard(() => this.db.deleteFrom('users').where('username_key', '=', usernameKey).executeTakeFirst());
    return result.numDeletedRows > 0n;
  }

  async setPasswordHash(usernameKey: string, passwordHash: string, nowMs: number, expectedHash?: string): Promise<boolean> {
    let query = this.db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: iso(nowMs) })
      .where('username_key', '=', usernameKey);
    if (expectedHash !== undefined) query = query.where('password_hash', '=', expectedHash);
    const result = await this.guard(() => query.executeTakeFirst());
    return result.numUpdatedRows > 0n;
  }

  async findById(id: string): Promise<User | undefined> {
    const row = await this.guard(() => this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst());
    return row && toUser(row);
  }

  /** The database's lower() on both sides (ASCII folding on SQLite). No index: a reset request is rare and rate limited. */
  async findByEmail(email: string, limit: number): Promise<User[]> {
    const rows = await this.guard(() =>
      this.db.selectFrom('users').selectAll().where('email_key', '=', emailKey(email)).orderBy('username_key').limit(limit).execute(),
    );
    return rows.map(toUser);
  }

  async findByVerifiedEmail(key: string): Promise<User | undefined> {
    const row = await this.guard(() =>
      this.db.selectFrom('users').selectAll().where('email_key', '=', key).where('email_verified', '=', 1).executeTakeFirst(),
    );
    return row && toUser(row);
  }

  async changePassword(usernameKey: string, passwordHash: string, nowMs: number): Promise<User | undefined> {
    await this.guard(() =>
      this.db
        .updateTable('users')
        .set((eb) => ({ password_hash: passwordHash, updated_at: iso(nowMs), token_version: eb('token_version', '+', 1) }))
        .where('username_key', '=', usernameKey)
        .execute(),
    );
    return this.findByKey(usernameKey);
  }

  async update(usernameKey: string, patch: UserPatch, nowMs: number): Promise<User | undefined> {
    const changes: Partial<UsersTable> = { updated_at: iso(nowMs) };
    if (patch.email !== undefined) {
      // A new address is unverified unless the patch says otherwise; no address is never verified.
      changes.email = patch.email;
      changes.email_key = patch.email === null ? null : emailKey(patch.email);
      changes.email_verified = patch.email !== null && patch.emailVerified === true ? 1 : 0;
    }
    if (patch.fullName !== undefined) changes.full_name = patch.fullName;
    if (patch.scopes !== undefined) changes.scopes = patch.scopes.join(' ');
    if (patch.disabled !== undefined) changes.disabled = patch.disabled ? 1 : 0;
    if (patch.mfaRequired !== undefined) changes.mfa_required = patch.mfaRequired ? 1 : 0;
    await this.guard(() =>
      this.db
        .updateTable('users')
        .set(changes)
        .$if(patch.email === undefined && patch.emailVerified !== undefined, (query) =>
          query.set((eb) => ({
            email_verified: patch.emailVerified ? eb.case().when('email', 'is', null).then(0).else(1).end() : eb.lit(0),
          })),
        )
        .where('username_key', '=', usernameKey)
        .$if(patch.onlyIfEmail !== undefined, (query) => query.where('email_key', '=', emailKey(patch.onlyIfEmail ?? '')))
        .execute(),
    );
    return this.findByKey(usernameKey);
  }

  async ping(): Promise<void> {
    try {
      await sql`select 1`.execute(this.db);
    } catch (error) {
      throw new StorageUnavailableError({ cause: error });
    }
  }

  private guard<T>(operation: () => Promise<T>): Promise<T> {
    return guardDriverErrors(this.dialect, operation, 'username', 'verified_email');
  }
}

function toRow(user: NewUser, nowMs: number): UsersTable {
  return {
    id: randomUUID(),
    username: user.username,
    username_key: user.usernameKey,
    email: user.email,
    email_key: user.email === null ? null : emailKey(user.email),
    email_verified: user.email !== null && user.emailVerified === true ? 1 : 0,
    full_name: user.fullName,
    password_hash: user.passwordHash,
    disabled: user.disabled ? 1 : 0,
    scopes: user.scopes.join(' '),
    created_at: iso(nowMs),
    updated_at: iso(nowMs),
    token_version: 0,
    mfa_required: user.mfaRequired === true ? 1 : 0,
  };
}

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    usernameKey: row.username_key,
    email: row.email,
    emailVerified: row.email !== null && Number(row.email_verified) === 1,
    fullName: row.full_name,
    passwordHash: row.password_hash,
    disabled: Number(row.disabled) === 1,
    scopes: row.scopes === '' ? [] : row.scopes.split(' '),
    createdAt: Date.parse(row.created_at),
    updatedAt: Date.parse(row.updated_at),
    tokenVersion: Number(row.token_version),
    mfaRequired: Number(row.mfa_required) === 1,
  };
}
