/** The library surface: explicit named exports only. */
// Config is the whole configuration loadConfig returns (every layer's settings; core's own part is core/config.ts's Config).
export {
  loadConfig,
  ConfigError,
  OWASP_ARGON2,
  type PortcullisConfig as Config,
  type PortcullisConfig,
  type Env,
} from './server/config.js';
export type { HttpConfig } from './http/settings.js';
export type { StorageConfig } from './storage/settings.js';
export type { ServerConfig } from './server/settings.js';
export * from './core/errors.js';
export { systemClock, fixedClock, type Clock } from './core/clock.js';
export type { UserStore, PasswordHasher, StorageHealth, NewUser, RateLimiter, RateDecision } from './core/ports.js';
export {
  createPortcullis,
  Portcullis,
  SIGN_IN_LINK_GRANT,
  MFA_GRANT,
  type AuthContext,
  type PortcullisDependencies,
  type TokenResponse,
} from './core/portcullis.js';
export { Argon2PasswordHasher } from './core/passwords/password-hasher.js';
export { WorkLimiter, type WorkLimiterOptions, type WorkLimiterStats } from './core/passwords/work-limiter.js';
export { checkPasswordPolicy, normalizePassword } from './core/passwords/password-policy.js';
export { AccessTokenCodec, type AccessTokenClaims } from './core/tokens/access-token.js';
export { toPublicUser, type PublicUser, type User } from './core/users/user.js';
export { buildApp, type AppOptions } from './http/app.js';
export { openStorage, type SqlStorage } from './storage/sql/open-storage.js';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './storage/memory/memory-rate-limiter.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './storage/redis/redis-rate-limiter.js';
export { createRedisClient } from './storage/redis/redis-client.js';
export { FallbackRateLimiter, type FallbackEvents } from './core/rate-limit/fallback-rate-limiter.js';
export type { RateCheck, RateLimitedAction } from './core/rate-limit/rate-limits.js';
export type { LoginAttemptStore, LoginAttemptView, LoginFailures, LoginFailureRecord } from './core/ports.js';
export type { PasswordLogin } from './core/portcullis.js';
export { MemoryLoginAttemptStore, type MemoryLoginAttemptStoreOptions } from './storage/memory/memory-login-attempt-store.js';
export { RedisLoginAttemptStore, type RedisLoginAttemptStoreOptions } from './storage/redis/redis-login-attempt-store.js';
export { FallbackLoginAttemptStore, type StoreOutageEvents } from './storage/redis/fallback-login-attempt-store.js';
export { startServer, type RunningServer } from './server/start-server.js';
// Portcullis inside an application: the Fastify plugin, and the framework-free functions (Express, Hono, ...).
export { portcullis, type FastifyPortcullis, type PortcullisPluginOptions, type RequireAuthOptions } from './embed/fastify-plugin.js';
export { ACR_MFA, ACR_SINGLE_FACTOR, type AuthMethod } from './core/factors/factor.js';
export {
  openPortcullis,
  type AuthenticatedUser,
  type MfaProof,
  type PortcullisAuth,
  type RequestInfo,
  type TokenRequest,
  type VerifyRequestOptions,
} from './embed/portcullis-auth.js';
export type { DatabaseOption, PortcullisOptions } from './embed/embed-options.js';
export type { HostDatabase } from './server/host-database.js';
export { errorResponse, type ErrorResponse, type ErrorResponseOptions } from './embed/error-response.js';
// For verifyRequest in hosts on node:http (Express): the Authorization header from req.rawHeaders, two refused.
export { authorizationHeader } from './http/plugins/authorization-header.js';
export { TableConflictError } from './server/table-conflicts.js';
export type { CreateUserInput } from './core/users/user-service.js';
