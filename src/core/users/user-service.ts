/**
 * Managing accounts: create (sign-up and admin), list, enable/disable,
 * remove, set a password. Validation of every field happens here, once.
 */
import type { Clock } from '../clock.js';
import { UserNotFoundError, ValidationError } from '../errors.js';
import { checkPasswordPolicy, type PasswordPolicy } from '../passwords/password-policy.js';
import type { PasswordHasher, UserListPage, UserStore } from '../ports.js';
import { parseScopeList } from '../tokens/scopes.js';
import type { User } from './user.js';
import { normalizeEmail, normalizeFullName, normalizeUsername, usernameKey } from './user-fields.js';

export interface CreateUserInput {
  readonly username: string;
  readonly password: string;
  readonly email?: string | null;
  readonly fullName?: string | null;
  readonly scopes?: readonly string[];
  readonly disabled?: boolean;
}

export class UserService {
  constructor(
    private readonly store: UserStore,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
    private readonly policy: PasswordPolicy,
    private readonly defaultScopes: readonly string[],
  ) {}

  /** Validates every field, applies the password policy, hashes, stores. */
  async create(input: CreateUserInput): Promise<User> {
    const username = normalizeUsername(input.username);
    const email = normalizeEmail(input.email);
    const fullName = normalizeFullName(input.fullName);
    const scopes = checkScopes(input.scopes ?? this.defaultScopes);
    await checkPasswordPolicy(input.password, this.policy, { username });
    const passwordHash = await this.hasher.hash(input.password);
    return this.store.create(
      { username, usernameKey: usernameKey(username), email, fullName, passwordHash, disabled: input.disabled ?? false, scopes },
      this.clock.now(),
    );
  }

  find(username: string): Promise<User | undefined> {
    return this.store.findByKey(usernameKey(username));
  }

  async get(username: string): Promise<User> {
    const user = await this.find(username);
    if (!user) throw new UserNotFoundError(username);
    return user;
  }

  list(options: { readonly after?: string; readonly limit: number }): Promise<UserListPage> {
    return this.store.list(options);
  }

  async setDisabled(username: string, disabled: boolean): Promise<void> {
    if (!(await this.store.setDisabled(usernameKey(username), disabled, this.clock.now()))) {
      throw new UserNotFoundError(username);
    }
  }

  async remove(username: string): Promise<void> {
    if (!(await this.store.remove(usernameKey(username)))) throw new UserNotFoundError(username);
  }

  async setPassword(username: string, password: string): Promise<void> {
    const user = await this.get(username);
    await checkPasswordPolicy(password, this.policy, { username: user.username });
    const passwordHash = await this.hasher.hash(password);
    if (!(await this.store.setPasswordHash(user.usernameKey, passwordHash, this.clock.now()))) {
      throw new UserNotFoundError(username);
    }
  }
}

function checkScopes(scopes: readonly string[]): string[] {
  try {
    return parseScopeList(scopes.join(' '));
  } catch (error) {
    throw new ValidationError('scopes', `Invalid scopes: ${(error as Error).message}`);
  }
}
