/**
 * The package as a user gets it: `npm pack` (which runs `prepare`, the
 * TypeScript build), installed with fastify into an empty folder, where the
 * README's "Embed in your Fastify app" program runs as it is printed there,
 * and a TypeScript file using the package type-checks against its declarations.
 *
 * The pack is made from a copy of the package's sources (node_modules linked),
 * so the build does not rewrite this checkout's dist/ under tests that run
 * bin/portcullis.js at the same time. The install uses the local npm cache
 * (`--prefer-offline`; the registry only for what is not cached) and skips
 * install scripts: better-sqlite3's would compile its native addon again,
 * which takes minutes and tests better-sqlite3, not this package; the addon
 * this checkout built is copied in instead when the versions match, and built
 * with `npm rebuild` otherwise.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir, TEST_SECRET_KEY } from '../helpers/server.js';
import { REPO_ROOT } from '../helpers/cli.js';

const exec = promisify(execFile);
/** Guards against a hung child only; nothing here asserts how long anything takes. */
const STEP_LIMIT_MS = 240_000;
const PASSWORD = 'correct horse battery';

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NODE_OPTIONS', 'SECRET_KEY', 'DATABASE_URL', 'PORT', 'HOST', 'NODE_ENV']) delete env[name];
  return env;
}

async function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { cwd, env: childEnv(), timeout: STEP_LIMIT_MS, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}\n${stdout}\n${stderr}`, { cause: error });
  }
}

/** The first js block of the README's "Embed in your Fastify app" section: what the README promises works. */
function readmeEmbedExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n## Embed in your Fastify app\n')[1]?.split('\n## ')[0];
  assert.ok(section, 'README.md has an "Embed in your Fastify app" section');
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'the section has a js example');
  return code;
}

function packageFrom(source: string, copy: string): void {
  for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'bin', 'src']) {
    cpSync(join(source, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(source, 'node_modules'), join(copy, 'node_modules'), 'dir');
}

async function provideSqliteAddon(app: string): Promise<void> {
  const version = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
  const built = join(REPO_ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  if (version(app) === version(REPO_ROOT)) {
    mkdirSync(join(app, 'node_modules/better-sqlite3/build/Release'), { recursive: true });
    copyFileSync(built, join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
  } else {
    await run('npm', ['rebuild', 'better-sqlite3'], app);
  }
}

interface Program {
  readonly url: string;
  stop(): Promise<void>;
}

async function startProgram(cwd: string, file: string): Promise<Program> {
  const child = spawn(process.execPath, [file], {
    cwd,
    env: { ...childEnv(), SECRET_KEY: TEST_SECRET_KEY, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not say where it listens\n${output}`)), STEP_LIMIT_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolveUrl(match[1]!);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (code ${code}) before listening\n${output}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const TYPE_CHECK = `import Fastify from 'fastify';
import { errorResponse, openPortcullis, portcullis, TableConflictError, type AuthenticatedUser } from 'portcullis';
import { createVerifier } from 'portcullis/verifier';

const app = Fastify();
await app.register(portcullis, { prefix: '/auth', secretKey: 'k', database: { url: 'sqlite:./auth.db' } });
app.get('/orders', { preHandler: app.portcullis.requireScopes('orders') }, async (request) => {
  const user: AuthenticatedUser | null = request.user;
  return { id: user?.id, scopes: user?.scopes };
});
const auth = await openPortcullis({ secretKey: 'k', database: { url: 'sqlite:./auth.db' }, settings: { DEFAULT_SCOPES: 'me' } });
const tokens: { access_token: string; expires_in: number } = await auth.issueTokens('alice', 'pw', { ip: '127.0.0.1' });
const user: AuthenticatedUser = await auth.verifyRequest(\`Bearer \${tokens.access_token}\`, { scopes: ['me'] });
const answer: { status: number; headers: Readonly<Record<string, string>>; body: { detail: string } } = errorResponse(new Error());
const conflict: readonly string[] = new TableConflictError(['users']).tables;
createVerifier({ issuer: 'https://auth.example.com' });
console.log(user.username, answer.status, conflict);
`;

describe('the packed package', { timeout: 3 * STEP_LIMIT_MS }, () => {
  let work: string;
  let files: string[];
  let app: string;

  before(
    async () => {
      work = makeTempDir('portcullis-pack-');
      const source = join(work, 'source');
      mkdirSync(source);
      packageFrom(REPO_ROOT, source);
      await run('npm', ['pack', '--pack-destination', work, '--silent'], source);
      const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
      assert.ok(tarball, 'npm pack made a tarball');
      files = (await run('tar', ['-tzf', join(work, tarball)], work)).split('\n').filter((line) => line !== '');
      app = join(work, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
      // --engine-strict=false: as a user's own npm would by default. Under `npm test` this repository's
      // engine-strict=true reaches child npm processes through npm_config_engine_strict, and Fastify 5's
      // newest light-my-request pulls cookie@2, which declares Node >= 22 (it runs on Node 20; this
      // repository pins light-my-request 6.6.0 for its own install). See README, "Embed in your Fastify app".
      await run(
        'npm',
        [
          'install',
          resolve(work, tarball),
          'fastify@5',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
          '--engine-strict=false',
        ],
        app,
      );
      await provideSqliteAddon(app);
    },
    { timeout: 2 * STEP_LIMIT_MS },
  );
  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('holds the built code, its declarations and the binary, and no sources, tests or data', () => {
    for (const file of [
      'package.json',
      'README.md',
      'bin/portcullis.js',
      'dist/cli/main.js',
      'dist/core/passwords/hash-thread-worker.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/verifier/index.js',
      'dist/verifier/index.d.ts',
      'dist/embed/fastify-plugin.d.ts',
    ]) {
      assert.ok(files.includes(`package/${file}`), `${file} is packed`);
    }
    const unwanted = files.filter(
      (file) =>
        /\.test\.|\.map$|tsbuildinfo|^package\/(src|test|data|examples|scripts|bench|docs)\//.test(file) ||
        (file.endsWith('.ts') && !file.endsWith('.d.ts')),
    );
    assert.deepEqual(unwanted, []);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/portcullis/package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      for (const path of typeof target === 'string' ? [target] : [target.types, target.default]) {
        assert.ok(files.includes(`package/${path.replace(/^\.\//, '')}`), `exports["${subpath}"] → ${path} is packed`);
      }
    }
  });

  it('runs the installed portcullis command from its compiled dist/', async () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal((await run(process.execPath, [join(app, 'node_modules/portcullis/bin/portcullis.js'), '--version'], app)).trim(), version);
  });

  it("runs the README's embedding example as printed: 401 without a token, 200 after logging in at /auth/token", async () => {
    const example = readmeEmbedExample();
    assert.ok(example.trimEnd().split('\n').length < 20, 'the example is under twenty lines');
    writeFileSync(join(app, 'index.mjs'), example);
    const program = await startProgram(app, 'index.mjs');
    try {
      const anonymous = await fetch(`${program.url}/hello`);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
      assert.deepEqual(await anonymous.json(), { detail: 'Not authenticated' });
      const signUp = await fetch(`${program.url}/auth/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: PASSWORD }),
      });
      assert.equal(signUp.status, 201);
      const login = await fetch(`${program.url}/auth/token`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'alice', password: PASSWORD }),
      });
      assert.equal(login.status, 200);
      const { access_token: token } = (await login.json()) as { access_token: string };
      const hello = await fetch(`${program.url}/hello`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(hello.status, 200);
      assert.deepEqual(await hello.json(), { hello: 'alice' });
    } finally {
      await program.stop();
    }
  });

  it('type-checks a TypeScript app against the packed declarations (both entry points, the request.user augmentation)', async () => {
    writeFileSync(join(app, 'check.ts'), TYPE_CHECK);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
        },
        files: ['check.ts'],
      }),
    );
    await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  });
});
