#!/usr/bin/env node
// The command line as one file, for a fast start (`npm run build` runs this after tsc).
//
// Loading dist/ module by module costs ~400 ms at every start (some 700 files through Node's ESM
// loader; Kysely alone is 265). This bundles what tsc built (dist/cli/main.js, with its
// dependencies) into dist/bundle/portcullis.cjs with esbuild, and the hashing threads' script
// beside it, then records V8's code cache for the bundle by starting `portcullis serve` on a
// temporary data folder, as a cluster (each worker records the cache for a worker's Node flags)
// and as one process (dist/bundle/portcullis.cjs.v8cache): bin/portcullis.js hands V8 the cache
// for its flags, and V8 then skips compiling what a start runs. A cache V8 rejects (another Node
// version, other flags) costs nothing but that saving.
//
// Not bundled, loaded from node_modules when used: see EXTERNAL.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT_DIR = join(ROOT, 'dist/bundle');
const BUNDLE = join(OUT_DIR, 'portcullis.cjs');
const CODE_CACHE = `${BUNDLE}.v8cache`;
const started = performance.now();
/**
 * Loaded from node_modules when used, not bundled: native addons, the optional back ends and the
 * /docs UI, each through require() (createRequire in src/). Nothing may be left to a real import():
 * V8 code cache and a script's dynamic import() do not go together on Node 20.
 */
const EXTERNAL = [
  'better-sqlite3',
  '@node-rs/argon2',
  '@node-rs/bcrypt',
  'pg',
  'pg-native',
  'ioredis',
  '@fastify/swagger',
  '@fastify/swagger-ui',
];

for (const entry of ['dist/cli/main.js', 'dist/core/passwords/hash-thread-worker.js']) {
  if (!existsSync(join(ROOT, entry))) {
    console.error(`bundle: ${entry} is missing; run tsc -p tsconfig.build.json first (npm run build does both)`);
    process.exit(1);
  }
}

rmSync(OUT_DIR, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  // Same base names as in dist/: hash-threads.ts finds its worker beside itself.
  entryPoints: { portcullis: 'dist/cli/main.js', 'hash-thread-worker': 'dist/core/passwords/hash-thread-worker.js' },
  outdir: OUT_DIR,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  // CommonJS: V8's code cache can be given to vm.Script, not (on Node 20) to an ES module.
  format: 'cjs',
  target: 'node20',
  external: EXTERNAL,
  // Smaller source, less for V8 to keep in memory; names kept, so stack traces still name functions.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  // import.meta does not exist in CommonJS: the bundle's own URL stands for it (its modules only
  // use it to find files beside them or packages above them; import.meta.resolve only under tsx).
  define: { 'import.meta.url': '__portcullisBundleUrl', 'import.meta.resolve': '__portcullisNoResolve' },
  banner: {
    js: [
      "const __portcullisBundleUrl = require('node:url').pathToFileURL(__filename).href;",
      "const __portcullisNoResolve = (specifier) => { throw new Error(`import.meta.resolve(${specifier}) is not available in the bundle`); };",
    ].join('\n'),
  },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const bundled = performance.now();
const dynamicImports = Object.values(result.metafile.outputs)
  .flatMap((output) => output.imports)
  .filter((entry) => entry.kind === 'dynamic-import' && entry.external);
if (dynamicImports.length > 0) {
  console.error(`bundle: import() of an external module (load it through createRequire instead): ${dynamicImports.map((entry) => entry.path).join(', ')}`);
  process.exit(1);
}

/** A port free now (bind :0, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `portcullis serve` from the bundle, waits for a 200 from /healthz, stops it: its processes write their code caches as they exit. */
async function recordCodeCache(workers) {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-code-cache-'));
  try {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      HOST: '127.0.0.1',
      PORT: String(port),
      WORKERS: String(workers),
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString('base64url'),
      ISSUER: `http://127.0.0.1:${port}`,
      METRICS_TOKEN: randomBytes(16).toString('base64url'),
      PORTCULLIS_RECORD_CODE_CACHE: '1',
    };
    const child = spawn(process.execPath, [join(ROOT, 'bin/portcullis.js'), 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30_000;
    let ok = false;
    while (!ok && Date.now() < deadline && child.exitCode === null) {
      ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (!ok) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    if (!ok) throw new Error(`portcullis serve from the bundle did not answer /healthz within 30 s (exit ${code ?? signal})`);
    if (code !== 0) throw new Error(`portcullis serve from the bundle exited ${code ?? signal} on SIGTERM`);
    if (!existsSync(CODE_CACHE)) throw new Error('portcullis serve did not write the code cache');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// The cluster first: its primary also writes the flagless cache, which the single process then replaces.
await recordCodeCache(2);
await recordCodeCache(1);
const caches = readdirSync(OUT_DIR).filter((name) => name.endsWith('.v8cache'));
if (caches.length < 2) throw new Error(`expected a code cache for one process and one for cluster workers, found: ${caches.join(', ') || 'none'}`);
const kib = (path) => `${Math.round(statSync(path).size / 1024)} KiB`;
console.log(
  `bundle: dist/bundle/portcullis.cjs (${kib(BUNDLE)}) in ${Math.round(bundled - started)} ms; ` +
    `V8 code caches (${caches.map((name) => kib(join(OUT_DIR, name))).join(', ')}) recorded from two starts in ${Math.round(performance.now() - bundled)} ms`,
);
