/** Configuration from the process's environment, for `portcullis serve` and the admin commands. */
import { loadConfig, SETTING_NAMES, type PortcullisConfig } from './config.js';
import { describeLookAlike, findLookAlikeSettings, type LookAlikeSetting } from '../core/setting-look-alikes.js';
import { loadOrCreateSecretKey } from './secret-key-file.js';

export interface EnvConfig {
  readonly config: PortcullisConfig;
  /** Variables in the environment that look like misspelt settings (setting-look-alikes.ts). */
  readonly lookAlikes: readonly LookAlikeSetting[];
}

/** Configuration from the environment, and the variables there that look like a setting but are none. */
export function loadEnvConfig(env: NodeJS.ProcessEnv, options: { secretKeyRequired: boolean }): EnvConfig {
  const config = loadConfig(env, { fallbackSecretKey: loadOrCreateSecretKey, secretKeyRequired: options.secretKeyRequired });
  return { config, lookAlikes: findLookAlikeSettings(Object.keys(env), SETTING_NAMES) };
}

/** For the commands other than `serve` (which logs them): look-alike settings are warned about on stderr. */
export function configFromEnv(env: NodeJS.ProcessEnv, options: { secretKeyRequired: boolean }): PortcullisConfig {
  const { config, lookAlikes } = loadEnvConfig(env, options);
  for (const lookAlike of lookAlikes) console.error(`portcullis: warning: ${describeLookAlike(lookAlike)}`);
  return config;
}
