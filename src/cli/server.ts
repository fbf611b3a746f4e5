/**
 * Wires the server together: storage (migrated), hasher, core, HTTP. Used by
 * `portcullis serve` and by the end-to-end tests, so both start it the same way.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../core/config.js';
import { Argon2PasswordHasher } from '../core/passwords/password-hasher.js';
import { WorkLimiter } from '../core/passwords/work-limiter.js';
import { createPortcullis, type Portcullis } from '../core/portcullis.js';
import { buildApp } from '../http/app.js';
import { SYSTEM } from '../core/action-context.js';

const KEY_TICK_MS = 60_000;
import { openStorage, storageStores, type SqlStorage } from '../storage/sql/open-storage.js';

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly portcullis: Portcullis;
  readonly storage: SqlStorage;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  close(): Promise<void>;
}

export async function startServer(config: Config, logger?: FastifyBaseLogger): Promise<RunningServer> {
  const storage = openStorage(config.database);
  try {
    await storage.migrate();
    const hasher = new Argon2PasswordHasher(config.argon2, new WorkLimiter(config.hashConcurrency, config.hashQueueLimit));
    await hasher.warmUp();
    const portcullis = createPortcullis({ config, stores: storageStores(storage), hasher });
    await portcullis.start();
    const app = await buildApp(portcullis, logger ? { logger } : {});
    // Key housekeeping: retired keys leave the JWKS once their tokens expired; scheduled rotation.
    const keyTimer = portcullis.keys
      ? setInterval(() => {
          portcullis.keys?.tick(SYSTEM).catch((error: unknown) => app.log.error({ err: error }, 'signing key housekeeping failed'));
        }, KEY_TICK_MS)
      : undefined;
    keyTimer?.unref();
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      app,
      portcullis,
      storage,
      close() {
        clearInterval(keyTimer);
        closing ??= app.close().then(() => storage.close());
        return closing;
      },
    };
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw error;
  }
}
