/**
 * Reading a table of settings (each layer declares its own: core/settings.ts,
 * storage/settings.ts, http/settings.ts, server/settings.ts; the server joins
 * them, server/config.ts) from an environment-like record: every mistake is
 * pushed to `problems` and the setting takes its default, so that one parse
 * reports them all. Order matters only for defaults: one may depend on a
 * setting declared before it (DefaultContext).
 */
import { availableParallelism } from 'node:os';
import { INVALID, type DefaultContext, type Setting } from './setting-types.js';

export type Env = Readonly<Record<string, string | undefined>>;

export type SettingTable = Readonly<Record<string, Setting<unknown>>>;

/** The values a table's settings take, by name. */
export type ValuesOf<T extends SettingTable> = { readonly [K in keyof T]: T[K] extends Setting<infer V> ? V : never };

/** A rule across settings: the problem, or undefined. */
export type SettingRule<V> = (values: V) => string | undefined;

/**
 * Reads every setting of the table from env, then checks the rules across settings; each
 * mistake is pushed to problems, and the setting takes its default. Reads no other variable.
 */
export function readSettings<T extends SettingTable>(
  table: T,
  env: Env,
  problems: string[],
  rules: ReadonlyArray<SettingRule<ValuesOf<T>>> = [],
): ValuesOf<T> {
  const values = new Map<string, unknown>();
  const earlier = <V>(name: string): V => {
    if (!values.has(name)) throw new Error(`settings: a default depends on ${name}, which is declared after it`);
    return values.get(name) as V;
  };
  const context: DefaultContext = {
    get production() {
      return earlier<string | undefined>('NODE_ENV') === 'production';
    },
    get cores() {
      return availableParallelism();
    },
    get HOST() {
      return earlier<string>('HOST');
    },
    get PORT() {
      return earlier<number>('PORT');
    },
    get DATA_DIR() {
      return earlier<string>('DATA_DIR');
    },
    get WORKERS() {
      return earlier<number>('WORKERS');
    },
  };
  for (const [name, setting] of Object.entries(table)) {
    const raw = env[name];
    const given = raw === undefined || raw === '' ? INVALID : setting.parse(raw, name, problems);
    // Unset, empty or wrong: the default (a wrong value is a problem already).
    values.set(name, given === INVALID ? setting.defaultValue(context) : given);
  }
  const settings = Object.fromEntries(values) as ValuesOf<T>;
  for (const rule of rules) {
    const problem = rule(settings);
    if (problem !== undefined) problems.push(problem);
  }
  return settings;
}
