/**
 * The kinds of setting the tables (each layer's settings.ts) declare: how each parses an
 * environment variable, what it says when the value is wrong, and how the
 * reference (docs/configuration.md) describes it. A variable that is unset or
 * empty takes the default; a wrong one is a problem (one line, collected with
 * every other) and takes the default too, so that later checks still run.
 */

/** What a default may depend on: NODE_ENV, the machine, and settings declared before it in the table. */
export interface DefaultContext {
  readonly production: boolean;
  readonly cores: number;
  readonly HOST: string;
  readonly PORT: number;
  readonly DATA_DIR: string;
  readonly WORKERS: number;
}

/** Returned by parse when the value is wrong (the problem is pushed). */
export const INVALID: unique symbol = Symbol('invalid setting');

export interface Setting<T> {
  /** One line for the reference (Markdown, links relative to docs/). */
  readonly doc: string;
  /** What it accepts, for the reference: `integer 1–1440`, `on \| off`, ... */
  readonly accepts: string;
  /** The default as the reference shows it. */
  readonly defaultDoc: string;
  /** Never echoed in a problem: the messages name it only. */
  readonly secret: boolean;
  /** A value that is set and not empty. */
  parse(raw: string, name: string, problems: string[]): T | typeof INVALID;
  defaultValue(context: DefaultContext): T;
}

type DefaultOf<T> = T | ((context: DefaultContext) => T);

interface Common {
  readonly doc: string;
}

/** A default that depends on something must say how, for the reference. */
type WithDefault<T> =
  { readonly default: T; readonly defaultDoc?: string } | { readonly default: (context: DefaultContext) => T; readonly defaultDoc: string };

function code(value: string | number): string {
  return `\`${value}\``;
}

function setting<T>(
  common: Common,
  fallback: DefaultOf<T>,
  defaultDoc: string,
  accepts: string,
  parse: Setting<T>['parse'],
  secret = false,
): Setting<T> {
  return {
    doc: common.doc,
    accepts,
    defaultDoc,
    secret,
    parse,
    defaultValue: (context) => (typeof fallback === 'function' ? (fallback as (context: DefaultContext) => T)(context) : fallback),
  };
}

function wholeNumber(raw: string, name: string, min: number, max: number, problems: string[]): number | typeof INVALID {
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name} must be a whole number (got ${JSON.stringify(raw)})`);
    return INVALID;
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    problems.push(`${name} must be between ${min} and ${max} (got ${value})`);
    return INVALID;
  }
  return value;
}

/** A whole number from min to max; surrounding whitespace is allowed. */
export function integer(options: Common & WithDefault<number> & { readonly min: number; readonly max: number }): Setting<number> {
  const { min, max } = options;
  const defaultDoc = options.defaultDoc ?? code(options.default as number);
  return setting(options, options.default, defaultDoc, `integer ${min}–${max}`, (raw, name, problems) =>
    wholeNumber(raw, name, min, max, problems),
  );
}

/** A whole number from min to max, or unset. */
export function optionalInteger(options: Common & { readonly min: number; readonly max: number }): Setting<number | undefined> {
  const { min, max } = options;
  return setting<number | undefined>(options, undefined, 'unset', `integer ${min}–${max}`, (raw, name, problems) =>
    wholeNumber(raw, name, min, max, problems),
  );
}

/** One of a few words, as given (letter case counts). */
export function choice<const T extends string>(options: Common & WithDefault<T> & { readonly values: readonly T[] }): Setting<T> {
  const { values } = options;
  const defaultDoc = options.defaultDoc ?? code(options.default as T);
  return setting(options, options.default, defaultDoc, values.map(code).join(', '), (raw, name, problems) => {
    if ((values as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${name} must be one of ${values.join(', ')} (got ${JSON.stringify(raw)})`);
    return INVALID;
  });
}

/** `on` or `off`. */
export function onOff(options: Common & WithDefault<boolean>): Setting<boolean> {
  const defaultDoc = options.defaultDoc ?? code(options.default === true ? 'on' : 'off');
  return setting(options, options.default, defaultDoc, '`on`, `off`', (raw, name, problems) => {
    if (raw === 'on' || raw === 'off') return raw === 'on';
    problems.push(`${name} must be one of on, off (got ${JSON.stringify(raw)})`);
    return INVALID;
  });
}

/**
 * Text, optionally checked: `check` returns the problem, or undefined when the value is fine.
 * A check of a secret must not echo the value.
 */
export function text(
  options: Common &
    WithDefault<string> & { readonly accepts?: string; readonly check?: (value: string, name: string) => string | undefined },
): Setting<string> {
  const defaultDoc = options.defaultDoc ?? code(options.default as string);
  return setting(options, options.default, defaultDoc, options.accepts ?? 'text', checked(options.check));
}

/** Text or unset (undefined). */
export function optionalText(
  options: Common & {
    readonly accepts?: string;
    readonly defaultDoc?: string;
    readonly secret?: boolean;
    readonly check?: (value: string, name: string) => string | undefined;
  },
): Setting<string | undefined> {
  return setting<string | undefined>(
    options,
    undefined,
    options.defaultDoc ?? 'unset',
    options.accepts ?? 'text',
    checked(options.check),
    options.secret ?? false,
  );
}

function checked(
  check: ((value: string, name: string) => string | undefined) | undefined,
): (raw: string, name: string, problems: string[]) => string | typeof INVALID {
  return (raw, name, problems) => {
    const problem = check?.(raw, name);
    if (problem === undefined) return raw;
    problems.push(problem);
    return INVALID;
  };
}

/**
 * A comma- or space-separated list, empty when unset; `check` returns the problems of one item.
 */
export function list(
  options: Common & {
    readonly accepts?: string;
    readonly defaultDoc?: string;
    readonly check?: (item: string, name: string) => string | undefined;
  },
): Setting<readonly string[]> {
  return setting<readonly string[]>(
    options,
    [],
    options.defaultDoc ?? 'empty',
    options.accepts ?? 'comma- or space-separated list',
    (raw, name, problems) => {
      const items = raw.split(/[\s,]+/).filter((item) => item !== '');
      const itemProblems = items.map((item) => options.check?.(item, name)).filter((problem) => problem !== undefined);
      problems.push(...itemProblems);
      return itemProblems.length === 0 ? items : INVALID;
    },
  );
}

/** A value another module parses: `parse` throws an Error whose message says what is wrong. */
export function parsed<T>(options: Common & WithDefault<T> & { readonly accepts: string; readonly parse: (raw: string) => T }): Setting<T> {
  const defaultDoc = options.defaultDoc ?? code(String(options.default));
  return setting(options, options.default, defaultDoc, options.accepts, (raw, name, problems) => {
    try {
      return options.parse(raw);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      return INVALID;
    }
  });
}

/** The check of a URL setting: http:// or https://. */
export function checkHttpUrl(value: string, name: string): string | undefined {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) return `${name} must be an http:// or https:// URL`;
  return undefined;
}
