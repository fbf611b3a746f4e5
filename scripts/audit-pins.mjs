#!/usr/bin/env node
// Fails when a pinned dependency has a known advisory. A pin holds a package at one version, so
// neither `npm update` nor a fresh install brings its security fixes: each pin must be checked.
//
// Usage: npm run audit:pins
//        node scripts/audit-pins.mjs [--manifest PATH/package.json] [--offline] [--npm-audit-json FILE]
//
// Pinned: an exact version in dependencies, devDependencies or optionalDependencies (`"fast-jwt":
// "6.3.6"`), and every `overrides` entry that sets an exact version (nested ones included).
// Sources, both said in the output:
//   1. `npm audit --json` in the manifest's folder (the registry's advisories), unless --offline;
//      --npm-audit-json reads a report saved earlier instead. When it cannot answer (no lockfile,
//      no network, or a registry without the bulk advisory endpoint, which answers 405), the check
//      goes on without it and says why.
//   2. Always: scripts/known-advisories.json, kept by hand (package, vulnerable range, id, url).
// Exit: 0 no pinned dependency has a known advisory; 1 one has (each is listed); 2 bad input.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Not a direct dependency: fastify's own (so always installed with Portcullis).
import semver from 'semver';

const KNOWN_ADVISORIES = fileURLToPath(new URL('./known-advisories.json', import.meta.url));

function usage(message) {
  console.error(`audit:pins: ${message}\nusage: node scripts/audit-pins.mjs [--manifest PATH] [--offline] [--npm-audit-json FILE]`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { manifest: 'package.json', offline: false, npmAuditJson: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--offline') options.offline = true;
    else if (arg === '--manifest' || arg === '--npm-audit-json') {
      const value = argv[(i += 1)];
      if (value === undefined) usage(`${arg} needs a path`);
      if (arg === '--manifest') options.manifest = value;
      else options.npmAuditJson = value;
    } else usage(`unknown argument ${JSON.stringify(arg)}`);
  }
  return options;
}

function readJson(path, what) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return usage(`cannot read ${what} ${path}: ${error.message}`);
  }
}

/** The version a spec pins, or undefined for a range, a tag, a URL or an alias. */
function exactVersion(spec) {
  if (typeof spec !== 'string') return undefined;
  return semver.valid(semver.clean(spec) ?? '') ?? undefined;
}

/** `@scope/name@range` → `@scope/name`; `name@range` → `name`. */
function packageName(key) {
  const at = key.indexOf('@', key.startsWith('@') ? 1 : 0);
  return at === -1 ? key : key.slice(0, at);
}

/** Every exact version the manifest holds a package at: `{ name, version, where }`. */
export function pinnedDependencies(manifest) {
  const pins = [];
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
      const version = exactVersion(spec);
      if (version) pins.push({ name, version, where: field });
    }
  }
  const overrides = (entries, path) => {
    for (const [key, value] of Object.entries(entries)) {
      if (key === '.') continue;
      const where = `${path} > ${key}`;
      // An object overrides the package's own version with its "." member, and its dependencies with the rest.
      const version = exactVersion(typeof value === 'string' ? value : value?.['.']);
      if (version) pins.push({ name: packageName(key), version, where });
      if (value !== null && typeof value === 'object') overrides(value, where);
    }
  };
  overrides(manifest.overrides ?? {}, 'overrides');
  return pins;
}

/** npm audit's report, or why there is none. */
function npmAudit(folder, savedReport) {
  let text;
  if (savedReport !== undefined) {
    text = readFileSync(savedReport, 'utf8');
  } else {
    const run = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['audit', '--json'], {
      cwd: folder,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.error) return { reason: run.error.message };
    text = run.stdout;
  }
  let report;
  try {
    report = JSON.parse(text);
  } catch {
    return { reason: 'npm audit printed no JSON report' };
  }
  if (
    report !== null &&
    typeof report === 'object' &&
    !report.error &&
    report.vulnerabilities !== null &&
    typeof report.vulnerabilities === 'object'
  ) {
    return { report };
  }
  const why = report?.message ?? [report?.error?.code, report?.error?.summary].filter(Boolean).join(': ');
  return { reason: String(why || 'no vulnerability report').split('\n')[0] };
}

/** The advisories npm audit lists against the pinned package itself (not through its dependencies) and version. */
export function npmAuditFindings(report, pins) {
  const findings = [];
  for (const pin of pins) {
    for (const via of report.vulnerabilities[pin.name]?.via ?? []) {
      // A string names a dependency the advisory is really about; that package is listed on its own.
      if (via === null || typeof via !== 'object' || via.name !== pin.name) continue;
      if (typeof via.range === 'string' && !semver.satisfies(pin.version, via.range, { includePrerelease: true })) continue;
      const id = /GHSA-[\w-]+/.exec(String(via.url))?.[0] ?? `npm advisory ${via.source}`;
      findings.push({ pin, id, url: via.url, source: 'npm audit' });
    }
  }
  return findings;
}

export function listFindings(advisories, pins) {
  const findings = [];
  for (const pin of pins) {
    for (const advisory of advisories) {
      if (advisory.package !== pin.name || !semver.satisfies(pin.version, advisory.vulnerable, { includePrerelease: true })) continue;
      findings.push({ pin, id: advisory.id, url: advisory.url, source: 'scripts/known-advisories.json' });
    }
  }
  return findings;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const manifestPath = resolve(options.manifest);
  const pins = pinnedDependencies(readJson(manifestPath, 'the manifest'));
  const { advisories } = readJson(KNOWN_ADVISORIES, 'the advisory list');
  const shown = relative(process.cwd(), manifestPath) || manifestPath;
  console.log(
    `audit:pins: ${pins.length} pinned in ${shown}: ${pins.map((pin) => `${pin.name}@${pin.version} (${pin.where})`).join(', ') || 'none'}`,
  );

  const findings = listFindings(advisories, pins);
  const sources = [`scripts/known-advisories.json (${advisories.length} advisories)`];
  if (options.offline) {
    console.log('audit:pins: npm audit not asked (--offline)');
  } else {
    const audit = npmAudit(dirname(manifestPath), options.npmAuditJson);
    if (audit.report) {
      sources.unshift('npm audit (the registry)');
      findings.push(...npmAuditFindings(audit.report, pins));
    } else {
      console.log(`audit:pins: npm audit could not answer (${audit.reason}); checking without it`);
    }
  }
  console.log(`audit:pins: checked against: ${sources.join(' and ')}`);

  const seen = new Set();
  const unique = findings.filter((finding) => {
    const key = `${finding.pin.name}@${finding.pin.version} ${finding.id}`;
    return !seen.has(key) && seen.add(key);
  });
  if (unique.length === 0) {
    console.log('audit:pins: no pinned dependency has a known advisory');
    return 0;
  }
  for (const { pin, id, url, source } of unique) {
    console.error(`audit:pins: ${pin.name}@${pin.version} (${pin.where}) has ${id}: ${url} [${source}]`);
  }
  console.error(
    `audit:pins: ${unique.length} known ${unique.length === 1 ? 'advisory' : 'advisories'} against pinned dependencies: move the pin past the fix, or remove it`,
  );
  return 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
