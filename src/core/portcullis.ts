/**
 * The Portcullis library: login, sign-up and bearer-token authentication,
 * built from a validated Config and the ports it is given. No HTTP and no SQL
 * here; http/ and cli/ call this.
 */
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import {
  InactiveUserError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidTokenError,
  RegistrationClosedError,
} from './errors.js';
import type { PasswordHasher, StorageHealth, UserStore } from './ports.js';
import { AccessTokenCodec, type AccessTokenClaims } from './tokens/access-token.js';
import { formatScopes, grantScopes } from './tokens/scopes.js';
import type { User } from './users/user.js';
import { loginKey, usernameKey } from './users/user-fields.js';
import { UserService, type CreateUserInput } from './users/user-service.js';

export interface PortcullisDependencies {
  readonly config: Config;
  readonly users: UserStore;
  readonly hasher: PasswordHasher;
  readonly health: StorageHealth;
  readonly clock?: Clock;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly scope: string;
}

export interface PasswordGrant {
  readonly username: string;
  readonly password: string;
  /** Requested scopes; undefined = everything the user holds. */
  readonly scopes?: readonly string[];
}

export interface AuthContext {
  readonly user: User;
  readonly claims: AccessTokenClaims;
  readonly scopes: ReadonlySet<string>;
}

export type SignUpInput = Pick<CreateUserInput, 'username' | 'password' | 'email' | 'fullName'>;

export class Portcullis {
  readonly config: Config;
  readonly users: UserService;
  private readonly store: UserStore;
  private readonly hasher: PasswordHasher;
  private readonly health: StorageHealth;
  private readonly clock: Clock;
  private readonly tokens: AccessTokenCodec;

  constructor(deps: PortcullisDependencies) {
    this.config = deps.config;
    this.store = deps.users;
    this.hasher = deps.hasher;
    this.health = deps.health;
    this.clock = deps.clock ?? systemClock;
    this.tokens = new AccessTokenCodec(
      {
        algorithm: this.config.algorithm,
        secretKey: this.config.secretKey,
        issuer: this.config.issuer,
        audience: this.config.audience,
        ttlSeconds: this.config.accessTokenTtlSeconds,
        clockToleranceSeconds: this.config.clockToleranceSeconds,
      },
      this.clock,
    );
    this.users = new UserService(
      this.store,
      this.hasher,
      this.clock,
      { minLength: this.config.passwordMinLength },
      this.config.defaultScopes,
    );
  }

  /**
   * The password grant. An unknown user costs one dummy verification, the
   * same work as a wrong password; "Inactive user" is only ever said after
   * the password was right.
   */
  async passwordGrant(grant: PasswordGrant): Promise<TokenResponse> {
    const key = loginKey(grant.username);
    const user = key === undefined ? undefined : await this.store.findByKey(key);
    const valid = user
      ? await this.hasher.verify(user.passwordHash, grant.password)
      : await this.hasher.verifyDummy(grant.password);
    if (!user || !valid) throw new InvalidCredentialsError();
    if (user.disabled) throw new InactiveUserError();
    if (this.hasher.needsRehash(user.passwordHash)) {
      const upgraded = await this.hasher.hash(grant.password);
      await this.store.setPasswordHash(user.usernameKey, upgraded, this.clock.now(), user.passwordHash);
    }
    const scopes = grantScopes(user.scopes, grant.scopes);
    const issued = this.tokens.issue(user.username, scopes);
    return {
      access_token: issued.token,
      token_type: 'bearer',
      expires_in: issued.expiresInSeconds,
      scope: formatScopes(scopes),
    };
  }

  /** Open sign-up (REGISTRATION=open). */
  async signUp(input: SignUpInput): Promise<User> {
    if (this.config.registration !== 'open') throw new RegistrationClosedError();
    return this.users.create(input);
  }

  /**
   * Checks a bearer token and that its user still exists, is enabled and is
   * the same account the token was issued to (a user removed and registered
   * again under the same name does not inherit the old tokens).
   */
  async authenticate(token: string): Promise<AuthContext> {
    const claims = this.tokens.verify(token);
    const user = await this.store.findByKey(usernameKey(claims.sub));
    if (!user || user.disabled || claims.iat < Math.floor(user.createdAt / 1000)) throw new InvalidTokenError();
    return { user, claims, scopes: new Set(claims.scope.split(' ').filter((scope) => scope !== '')) };
  }

  /** Throws InsufficientScopeError unless the context holds every required scope. */
  requireScopes(context: AuthContext, required: readonly string[]): void {
    if (!required.every((scope) => context.scopes.has(scope))) throw new InsufficientScopeError(required);
  }

  ready(): Promise<void> {
    return this.health.ping();
  }
}

export function createPortcullis(deps: PortcullisDependencies): Portcullis {
  return new Portcullis(deps);
}
