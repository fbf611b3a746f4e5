/**
 * The small interfaces core needs from the outside world. Implementations
 * live in storage/ (SQL) and core/passwords (hashing); they are passed in to
 * createPortcullis, never imported by core.
 */
import type { User } from './users/user.js';

/** A user as handed to the store: everything but what the store assigns (id, timestamps). */
export type NewUser = Omit<User, 'id' | 'createdAt' | 'updatedAt'>;

export interface UserListPage {
  readonly users: readonly User[];
  /** Pass as `after` for the next page; undefined on the last page. */
  readonly next: string | undefined;
}

export interface UserStore {
  /** undefined when no user has that key. */
  findByKey(usernameKey: string): Promise<User | undefined>;
  /** Throws UsernameTakenError when the key is taken (the database enforces it). */
  create(user: NewUser, nowMs: number): Promise<User>;
  /** All or nothing: one transaction; throws UsernameTakenError if any key is taken. */
  createMany(users: readonly NewUser[], nowMs: number): Promise<void>;
  /** Users ordered by key, at most `limit`, starting after the key `after`. */
  list(options: { readonly after?: string; readonly limit: number }): Promise<UserListPage>;
  /** Keys among the given ones that exist already. */
  existingKeys(usernameKeys: readonly string[]): Promise<Set<string>>;
  /** false when no such user. */
  setDisabled(usernameKey: string, disabled: boolean, nowMs: number): Promise<boolean>;
  /** false when no such user. */
  remove(usernameKey: string): Promise<boolean>;
  /**
   * Replaces the hash; with `expectedHash`, only if the stored hash is still
   * that one (so a rehash on login cannot undo a concurrent password change).
   */
  setPasswordHash(usernameKey: string, passwordHash: string, nowMs: number, expectedHash?: string): Promise<boolean>;
}

export interface PasswordHasher {
  /** argon2id of the normalised password. */
  hash(password: string): Promise<string>;
  /** Whether the password matches the stored hash (argon2id or imported bcrypt). */
  verify(storedHash: string, password: string): Promise<boolean>;
  /** Does the same work as verify, for a user that does not exist; always false. */
  verifyDummy(password: string): Promise<false>;
  /** Whether a stored hash should be replaced at the next successful login. */
  needsRehash(storedHash: string): boolean;
}

/** Liveness of the backing store, for /readyz. */
export interface StorageHealth {
  ping(): Promise<void>;
}
