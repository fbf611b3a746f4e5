/**
 * Settings for local runs from a `.env` file: the one `--dotenv PATH` names (before the command),
 * else `.env` in the working directory when there is one. Node's own parser reads it
 * (process.loadEnvFile), and a variable already in the environment wins over the file. Nothing of
 * the file is printed, and its values are checked as any setting is.
 */
import { UsageError } from './prompt.js';

/**
 * Not `--env-file`: Node 20 takes any argument that begins with `--env-file`, even one after the
 * script's name, for its own option, and exits 9 when the file is missing (nodejs/node#54232).
 */
const OPTION = '--dotenv';

/** Loads the env file into process.env; returns the command line without the option. */
export function loadEnvFile(argv: readonly string[]): readonly string[] {
  const [first, second] = argv;
  if (first === OPTION) {
    if (second === undefined || second === '') throw new UsageError(`${OPTION} needs a path: portcullis ${OPTION} PATH COMMAND`);
    load(second);
    return argv.slice(2);
  }
  if (first?.startsWith(`${OPTION}=`) === true) {
    const path = first.slice(OPTION.length + 1);
    if (path === '') throw new UsageError(`${OPTION} needs a path: portcullis ${OPTION} PATH COMMAND`);
    load(path);
    return argv.slice(1);
  }
  load('.env', { optional: true });
  return argv;
}

function load(path: string, { optional = false } = {}): void {
  try {
    process.loadEnvFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (optional && code === 'ENOENT') return;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'ERR_INVALID_ARG_TYPE' ? 'not a readable text file' : (error as Error).message;
    throw new Error(`cannot read the env file ${path}: ${reason}${code === undefined ? '' : ` (${code})`}`);
  }
}
