/**
 * UserStore in a Map, for tests and embedding without a database. Faithful
 * to the SQL store: keys are unique (UsernameTakenError), so are verified
 * addresses (EmailTakenError), lists are ordered by key in code point order, and every answer is a copy of what is held.
 */
import { randomUUID } from 'node:crypto';
import { EmailTakenError, UsernameTakenError } from '../../core/errors.js';
import { emailKey } from '../../core/users/user-fields.js';
import type { NewUser, UserFilter, UserImportBatch, UserListPage, UserPatch, UserStore } from '../../core/ports.js';
import type { User } from '../../core/users/user.js';
import { compareCodePoints } from './code-point-order.js';

export class MemoryUserStore implements UserStore {
  private readonly byKey = new Map<string, User>();

  async findByKey(usernameKey: string): Promise<User | undefined> {
    return this.byKey.get(usernameKey);
  }

  async findById(id: string): Promise<User | undefined> {
    for (const user of this.byKey.values()) if (user.id === id) return user;
    return undefined;
  }

  async create(user: NewUser, nowMs: number): Promise<User> {
    if (this.byKey.has(user.usernameKey)) throw new UsernameTakenError();
    const created = toUser(user, nowMs);
    this.checkVerifiedUnique(created);
    this.byKey.set(created.usernameKey, created);
    return created;
  }

  async createMany(users: readonly NewUser[], nowMs: number): Promise<void> {
    const keys = new Set<string>();
    for (const user of users) {
      if (this.byKey.has(user.usernameKey) || keys.has(user.usernameKey)) throw new UsernameTakenError();
      keys.add(user.usernameKey);
    }
    const created = users.map((user) => toUser(user, nowMs));
    const verified = new Set<string>();
    for (const user of created) {
      this.checkVerifiedUnique(user);
      if (user.emailVerified && user.email !== null) {
        if (verified.has(emailKey(user.email))) throw new EmailTakenError();
        verified.add(emailKey(user.email));
      }
    }
    for (const user of created) this.byKey.set(user.usernameKey, user);
  }

  async importMany(batch: UserImportBatch, nowMs: number): Promise<string[]> {
    const before = new Map(this.byKey);
    try {
      await this.createMany(batch.create, nowMs);
      const ids: string[] = [];
      for (const user of batch.replace) {
        const current = this.byKey.get(user.usernameKey);
        if (!current) continue;
        const replaced: User = {
          ...current,
          passwordHash: user.passwordHash,
          email: user.email,
          emailVerified: user.email !== null && user.emailVerified === true,
          fullName: user.fullName,
          disabled: user.disabled,
          updatedAt: nowMs,
          tokenVersion: current.passwordHash === user.passwordHash ? current.tokenVersion : current.tokenVersion + 1,
        };
        this.byKey.delete(user.usernameKey);
        this.checkVerifiedUnique(replaced);
        this.byKey.set(user.usernameKey, replaced);
        ids.push(current.id);
      }
      return ids;
    } catch (error) {
      // All or nothing, as the SQL store's transaction.
      this.byKey.clear();
      for (const [key, user] of before) this.byKey.set(key, user);
      throw error;
    }
  }

  async list(filter: UserFilter): Promise<UserListPage> {
    const { after, prefix, disabled, limit } = filter;
    const matching = [...this.byKey.values()]
      .filter((user) => after === undefined || compareCodePoints(user.usernameKey, after) > 0)
      .filter((user) => prefix === undefined || user.usernameKey.startsWith(prefix))
      .filter((user) => disabled === undefined || user.disabled === disabled)
      .sort((a, b) => compareCodePoints(a.usernameKey, b.usernameKey));
    const page = matching.slice(0, limit);
    const last = page[page.length - 1];
    return { users: page, next: matching.length > limit && last ? last.usernameKey : undefined };
  }

  async existingKeys(usernameKeys: readonly string[]): Promise<Set<string>> {
    return new Set(usernameKeys.filter((key) => this.byKey.has(key)));
  }

  async setDisabled(usernameKey: string, disabled: boolean, nowMs: number): Promise<boolean> {
    return this.change(usernameKey, { disabled, updatedAt: nowMs }) !== undefined;
  }

  async remove(usernameKey: string): Promise<boolean> {
    return this.byKey.delete(usernameKey);
  }

  async setPasswordHash(usernameKey: string, passwordHash: string, nowMs: number, expectedHash?: string): Promise<boolean> {
    const user = this.byKey.get(usernameKey);
    if (!user || (expectedHash !== undefined && user.passwordHash !== expectedHash)) return false;
    return this.change(usernameKey, { passwordHash, updatedAt: nowMs }) !== undefined;
  }

  async changePassword(usernameKey: string, passwordHash: string, nowMs: number): Promise<User | undefined> {
    const user = this.byKey.get(usernameKey);
    return user && this.change(usernameKey, { passwordHash, updatedAt: nowMs, tokenVersion: user.tokenVersion + 1 });
  }

  async findByEmail(email: string, limit: number): Promise<User[]> {
    const wanted = emailKey(email);
    return [...this.byKey.values()]
      .filter((user) => user.email !== null && emailKey(user.email) === wanted)
      .sort((a, b) => compareCodePoints(a.usernameKey, b.usernameKey))
      .slice(0, limit);
  }

  async findByVerifiedEmail(key: string): Promise<User | undefined> {
    for (const user of this.byKey.values()) if (user.emailVerified && user.email !== null && emailKey(user.email) === key) return user;
    return undefined;
  }

  async update(usernameKey: string, patch: UserPatch, nowMs: number): Promise<User | undefined> {
    const user = this.byKey.get(usernameKey);
    if (!user) return undefined;
    if (patch.onlyIfEmail !== undefined && (user.email === null || emailKey(user.email) !== emailKey(patch.onlyIfEmail))) return user;
    // A new address is unverified unless the patch says otherwise; no address is never verified.
    const email = patch.email === undefined ? user.email : patch.email;
    const verified = patch.email === undefined ? (patch.emailVerified ?? user.emailVerified) : patch.emailVerified === true;
    this.checkVerifiedUnique({ ...user, email, emailVerified: email !== null && verified });
    return this.change(usernameKey, {
      updatedAt: nowMs,
      email,
      emailVerified: email !== null && verified,
      ...(patch.fullName === undefined ? {} : { fullName: patch.fullName }),
      ...(patch.scopes === undefined ? {} : { scopes: Object.freeze([...patch.scopes]) }),
      ...(patch.disabled === undefined ? {} : { disabled: patch.disabled }),
      ...(patch.mfaRequired === undefined ? {} : { mfaRequired: patch.mfaRequired }),
    });
  }

  /** EmailTakenError when `user` would hold a verified address another account holds verified. */
  private checkVerifiedUnique(user: User): void {
    if (!user.emailVerified || user.email === null) return;
    const holder = this.byKey.get(user.usernameKey) === undefined ? undefined : user.usernameKey;
    for (const other of this.byKey.values()) {
      if (other.usernameKey === holder || !other.emailVerified || other.email === null) continue;
      if (emailKey(other.email) === emailKey(user.email)) throw new EmailTakenError();
    }
  }

  private change(usernameKey: string, changes: Partial<User>): User | undefined {
    const user = this.byKey.get(usernameKey);
    if (!user) return undefined;
    const changed = Object.freeze({ ...user, ...changes });
    this.byKey.set(usernameKey, changed);
    return changed;
  }
}

function toUser(user: NewUser, nowMs: number): User {
  return Object.freeze({
    id: randomUUID(),
    username: user.username,
    usernameKey: user.usernameKey,
    email: user.email,
    emailVerified: user.email !== null && user.emailVerified === true,
    fullName: user.fullName,
    passwordHash: user.passwordHash,
    disabled: user.disabled,
    scopes: Object.freeze([...user.scopes]),
    createdAt: nowMs,
    updatedAt: nowMs,
    tokenVersion: 0,
    mfaRequired: user.mfaRequired === true,
  });
}
