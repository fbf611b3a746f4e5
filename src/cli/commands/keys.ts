/**
 * `portcullis keys list|rotate|retire`: the asymmetric signing keys. Running
 * servers answer the next request with the change in effect: on SQLite they
 * see the commit, on PostgreSQL the command waits until they confirm it
 * (see README, "Signing keys").
 */
import { CLI } from '../../core/action-context.js';
import { systemClock } from '../../core/clock.js';
import { KeyService } from '../../core/keys/key-service.js';
import { SealedBox } from '../../core/sealed-box.js';
import { isAsymmetricAlgorithm } from '../../core/tokens/algorithms.js';
import { AuditLog } from '../../core/audit/audit-log.js';
import { openStorage } from '../../storage/sql/open-storage.js';
import { configFromEnv, confirmChanges } from '../context.js';
import { printJson, printTable } from '../table.js';

async function withKeys<T>(work: (keys: KeyService) => Promise<T>): Promise<T> {
  const config = configFromEnv(process.env, { secretKeyRequired: true });
  const algorithm = config.algorithm;
  if (!isAsymmetricAlgorithm(algorithm)) {
    throw new Error(
      `ALGORITHM is ${algorithm}: tokens are signed with SECRET_KEY, which is rotated by changing SECRET_KEY. Signing keys are for EdDSA, ES256, RS256 and PS256.`,
    );
  }
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    await storage.migrate();
    const signing = (await storage.keys.list()).find((key) => key.state === 'current');
    if (signing && signing.algorithm !== algorithm) {
      throw new Error(
        `ALGORITHM is ${algorithm} here, but the servers on this database sign with ${signing.algorithm}: run this command with ALGORITHM=${signing.algorithm}`,
      );
    }
    const keys = new KeyService(
      storage.keys,
      new SealedBox(config.secretKey, 'signing-key/v1'),
      systemClock,
      {
        algorithm,
        tokenLifetimeMs: (config.accessTokenTtlSeconds + config.clockToleranceSeconds + 60) * 1000,
        jwksMaxAgeMs: config.jwksMaxAgeSeconds * 1000,
        rotationIntervalMs: config.keyRotationDays * 86_400_000,
      },
      new AuditLog(storage.audit, systemClock),
      // Running servers on PostgreSQL hear of it (confirmed below); on SQLite they see the commit.
      async () => storage.bus?.publish({ kind: 'keys' }),
    );
    return await work(keys);
  } finally {
    await confirmChanges(storage);
    await storage.close();
  }
}

export async function listKeysCommand(options: { readonly json?: boolean }): Promise<void> {
  await withKeys(async (keys) => {
    const rows = (await keys.list()).map((key) => ({
      kid: key.kid,
      algorithm: key.algorithm,
      state: key.state,
      created_at: new Date(key.createdAt).toISOString(),
      activated_at: key.activatedAt === null ? null : new Date(key.activatedAt).toISOString(),
      retired_at: key.retiredAt === null ? null : new Date(key.retiredAt).toISOString(),
    }));
    if (options.json) {
      printJson(rows);
      return;
    }
    if (rows.length === 0) {
      console.log('No signing keys yet: start the server once (it creates them).');
      return;
    }
    printTable(
      ['KID', 'ALGORITHM', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRED'],
      rows.map((row) => [row.kid, row.algorithm, row.state, row.created_at, row.activated_at ?? '', row.retired_at ?? '']),
    );
  });
}

export async function rotateKeysCommand(options: { readonly force?: boolean }): Promise<void> {
  await withKeys(async (keys) => {
    await keys.ensure();
    const result = await keys.rotate(CLI, { force: options.force === true });
    if (!result.rotated) {
      console.log('Another process rotated the keys at the same moment; nothing more was done.');
      return;
    }
    console.log(
      `Rotated: ${result.current} now signs; ${result.retired ?? '(none)'} is retired; ${result.next} is published as the next key.`,
    );
  });
}

export async function retireKeyCommand(kid: string): Promise<void> {
  await withKeys(async (keys) => {
    await keys.retire(kid, CLI);
    console.log(`Retired ${kid}: it no longer signs or verifies.`);
  });
}
