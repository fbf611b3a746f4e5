/** The library surface: explicit named exports only. */
export { loadConfig, ConfigError, OWASP_ARGON2, type Config, type Env } from './core/config.js';
export * from './core/errors.js';
export { systemClock, fixedClock, type Clock } from './core/clock.js';
export type { UserStore, PasswordHasher, StorageHealth, NewUser } from './core/ports.js';
export {
  createPortcullis,
  Portcullis,
  type AuthContext,
  type PortcullisDependencies,
  type TokenResponse,
} from './core/portcullis.js';
export { Argon2PasswordHasher } from './core/passwords/password-hasher.js';
export { WorkLimiter } from './core/passwords/work-limiter.js';
export { checkPasswordPolicy, normalizePassword } from './core/passwords/password-policy.js';
export { AccessTokenCodec, type AccessTokenClaims } from './core/tokens/access-token.js';
export { toPublicUser, type PublicUser, type User } from './core/users/user.js';
export { buildApp, type AppOptions } from './http/app.js';
export { openStorage, type SqlStorage } from './storage/sql/open-storage.js';
export { startServer, type RunningServer } from './cli/server.js';
