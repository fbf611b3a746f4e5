#!/usr/bin/env node
// The `portcullis` command: runs the bundled command line (dist/bundle/portcullis.cjs, made by
// `npm run build`, see scripts/bundle.mjs) with V8's code cache for it, so that a start neither
// walks hundreds of module files nor compiles what the cache already holds.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/bundle/portcullis.cjs', import.meta.url));
if (!existsSync(bundle)) {
  console.error(`portcullis: ${bundle} is missing; run npm run build`);
  process.exit(2);
}
// V8 takes a cache only from a process with the same flags: one file per set of Node options
// (the build records two: none, and a cluster worker's, see scripts/bundle.mjs).
const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').trim();
const codeCache = flags === '' ? `${bundle}.v8cache` : `${bundle}.${flags.replace(/[^\w=.-]+/g, '_').slice(0, 120)}.v8cache`;
let cachedData;
try {
  cachedData = readFileSync(codeCache);
} catch {
  // No cache (or unreadable): V8 compiles as usual.
}
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
const bundled = { exports: {} };
script.runInThisContext().call(bundled.exports, bundled.exports, createRequire(bundle), bundled, bundle, dirname(bundle));

// Set by scripts/bundle.mjs only: record the cache, with what this start compiled, as the process
// ends (written aside and renamed: the workers of one cluster record the same file).
if (process.env.PORTCULLIS_RECORD_CODE_CACHE === '1') {
  process.once('exit', () => {
    const partial = `${codeCache}.${process.pid}.tmp`;
    writeFileSync(partial, script.createCachedData());
    renameSync(partial, codeCache);
  });
}

process.exitCode = await bundled.exports.main(process.argv.slice(2));
