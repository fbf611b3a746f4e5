/**
 * End-to-end helpers for the command line: run the real binary
 * (bin/portcullis.js, which loads dist/, so run `npm run build` first) in a
 * child process with a clean environment and a fresh data folder, and start
 * `portcullis serve` on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO_ROOT, 'bin', 'portcullis.js');

/**
 * Where the CLI runs unless a test says otherwise: an empty folder of this test process, so that a
 * developer's `.env` in the repository (read by every command) cannot change what a test sees.
 */
export const CLI_CWD = mkdtempSync(join(tmpdir(), 'portcullis-cli-cwd-'));
process.once('exit', () => rmSync(CLI_CWD, { recursive: true, force: true }));
const DEFAULT_TIMEOUT_MS = 20_000;

/** Settings the parent shell may carry that would change what the CLI does. */
const SCRUBBED = [
  'SECRET_KEY',
  'NODE_ENV',
  'DATABASE_URL',
  'DATA_DIR',
  'HOST',
  'PORT',
  'ALGORITHM',
  'AUDIENCE',
  'ISSUER',
  'REGISTRATION',
  'DEFAULT_SCOPES',
  'LOG_LEVEL',
  'NODE_OPTIONS',
  'REDIS_URL',
  'RATE_LIMITS',
  'TRUSTED_PROXIES',
];

/**
 * What every child gets unless the test says otherwise: one serving process (no cluster), so a
 * test behaves, and costs, the same whatever the machine's core count.
 */
const CHILD_DEFAULTS: CliEnv = { WORKERS: '1' };

export type CliEnv = Record<string, string | undefined>;

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Added to (and overriding) the scrubbed parent environment; `undefined` removes a name. */
  readonly env?: CliEnv;
  /** Written to stdin, which is then closed. Without it stdin is an empty pipe (not a terminal). */
  readonly input?: string;
  readonly timeoutMs?: number;
  /** The working directory (default CLI_CWD). */
  readonly cwd?: string;
}

export function makeDataDir(prefix = 'portcullis-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The environment for a child: the parent's minus Portcullis settings, plus `extra`. */
export function childEnv(extra: CliEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SCRUBBED) delete env[name];
  for (const [name, value] of Object.entries({ ...CHILD_DEFAULTS, ...extra })) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** The usual environment of a test: its own data folder (hence its own SQLite file), quiet logs, no SECRET_KEY. */
export function cliEnv(dataDir: string, extra: CliEnv = {}): CliEnv {
  return { DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...extra };
}

function spawnCli(args: readonly string[], env: CliEnv, cwd = CLI_CWD): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolves when the child exits; kills it and rejects (with its output so far) after `timeoutMs`. */
function waitForExit(
  child: ChildProcess,
  output: () => { stdout: string; stderr: string },
  label: string,
  timeoutMs: number,
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const { stdout, stderr } = output();
      reject(new Error(`${label} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, ...output() });
    });
  });
}

export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options.env ?? {}, options.cwd);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.on('error', () => undefined); // the child may exit before reading its input
  child.stdin!.end(options.input ?? '');
  return waitForExit(child, () => ({ stdout, stderr }), `portcullis ${args.join(' ')}`, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** stdout and stderr so far. */
  output(): { stdout: string; stderr: string };
  /** The JSON log lines on stdout so far. */
  logLines(): Array<Record<string, unknown>>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Sends `signal` and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  /** Waits for the process to exit (without signalling it). */
  exited: Promise<CliResult>;
}

/**
 * Starts `portcullis serve` with PORT=0 (LOG_LEVEL=debug) and resolves once it has logged the
 * JSON line with its `url`. Rejects with the output if it exits or times out first.
 * `args` go after `serve` (e.g. `--workers 2`).
 */
/** The JSON log lines in a process's output (a line still being written is skipped). */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

export async function startServe(
  env: CliEnv,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  args: readonly string[] = [],
  cwd: string = CLI_CWD,
): Promise<ServeProcess> {
  // The url is logged at level info, so the level is not the caller's to lower.
  // debug: the listening line, and a request line for every request (at info only failures have one).
  const child = spawnCli(['serve', ...args], { HOST: '127.0.0.1', PORT: '0', ...env, LOG_LEVEL: 'debug' }, cwd);
  child.stdin!.end();
  let stdout = '';
  let stderr = '';
  const output = () => ({ stdout, stderr });
  const exited = waitForExit(child, output, 'portcullis serve', 120_000);
  exited.catch(() => undefined);
  const parseLines = () => jsonLines(stdout);
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`portcullis serve did not report its url within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const found = parseLines().find((line) => typeof line.url === 'string');
      if (found) {
        clearTimeout(timer);
        resolvePromise(found.url as string);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    exited.then(
      (result) => {
        clearTimeout(timer);
        reject(new Error(`portcullis serve exited (code ${result.code}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
      },
      () => undefined,
    );
  });
  return {
    child,
    url,
    output,
    logLines: parseLines,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    exited,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The guide's login: a form-encoded POST /token. */
export function tokenRequest(url: string, username: string, password: string): Promise<Response> {
  return fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
}
