/**
 * `npm run audit:pins` (scripts/audit-pins.mjs) as CI runs it: it fails for
 * a pinned dependency with a known advisory, from the committed list when npm
 * audit cannot answer and from npm audit's report when it can, and passes for
 * the repository's own package.json. Temporary manifests; npm audit either
 * runs where it has no lockfile (so it answers at once, without the network),
 * is replaced by a saved report, or is not asked (--offline).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const SCRIPT = 'scripts/audit-pins.mjs';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function auditPins(...args: string[]): Run {
  const run = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm run audit:pins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-audit-pins-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const file = (content: unknown): string => {
    const folder = join(dir, String((files += 1)));
    const path = join(folder, 'package.json');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const manifest = (fields: Record<string, unknown>) => file({ name: 'pinned', version: '1.0.0', private: true, ...fields });

  it('fails for @fastify/static pinned below 10.1.11 by an override, naming both advisories and the committed list', () => {
    const run = auditPins('--manifest', manifest({ overrides: { '@fastify/static': '10.1.0' } }));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /npm audit could not answer \(ENOLOCK/);
    assert.match(run.stdout, /checked against: scripts\/known-advisories\.json \(\d+ advisories\)\n/);
    assert.match(run.stderr, /@fastify\/static@10\.1\.0 \(overrides > @fastify\/static\) has GHSA-83w8-p2f5-377r/);
    assert.match(run.stderr, /@fastify\/static@10\.1\.0 \(overrides > @fastify\/static\) has CVE-2026-90982/);
  });

  it('fails for a pin in dependencies and for a nested override, and passes for a fixed pin or a range', () => {
    for (const fields of [
      { dependencies: { '@fastify/static': '10.1.0' } },
      { overrides: { '@fastify/swagger-ui': { '@fastify/static': '=10.0.3' } } },
      { overrides: { '@fastify/static@10': { '.': '10.1.10' } } },
    ]) {
      const run = auditPins('--offline', '--manifest', manifest(fields));
      assert.equal(run.code, 1, JSON.stringify(fields));
      assert.match(run.stderr, /GHSA-83w8-p2f5-377r/);
    }
    for (const fields of [{ overrides: { '@fastify/static': '10.1.11' } }, { dependencies: { '@fastify/static': '^10.1.0' } }]) {
      const run = auditPins('--offline', '--manifest', manifest(fields));
      assert.equal(run.code, 0, `${JSON.stringify(fields)}: ${run.stderr}`);
      assert.match(run.stdout, /no pinned dependency has a known advisory/);
    }
  });

  it("uses npm audit's report when it answers: an advisory against the pinned package and version fails", () => {
    const pinned = manifest({ dependencies: { 'fast-jwt': '6.3.6', lodash: '4.17.21' } });
    const report = (via: unknown[]) =>
      file({
        auditReportVersion: 2,
        vulnerabilities: { 'fast-jwt': { name: 'fast-jwt', severity: 'critical', via, range: '<=6.3.6' } },
        metadata: {},
      });
    const advisory = {
      source: 1,
      name: 'fast-jwt',
      title: 'forgery',
      url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
      severity: 'critical',
      range: '<=6.3.6',
    };
    const failed = auditPins('--manifest', pinned, '--npm-audit-json', report([advisory]));
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stdout, /checked against: npm audit \(the registry\) and scripts\/known-advisories\.json/);
    assert.match(
      failed.stderr,
      /fast-jwt@6\.3\.6 \(dependencies\) has GHSA-aaaa-bbbb-cccc: https:\/\/github\.com\/advisories\/GHSA-aaaa-bbbb-cccc \[npm audit\]/,
    );

    for (const via of [[{ ...advisory, range: '<6.3.6' }], ['asn1.js']]) {
      const passed = auditPins('--manifest', pinned, '--npm-audit-json', report(via));
      assert.equal(passed.code, 0, `${JSON.stringify(via)}: ${passed.stderr}`);
    }
  });

  it('goes on without npm audit when the registry refuses (405), saying so', () => {
    const refused = file({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      error: { summary: '', detail: '' },
    });
    const run = auditPins('--manifest', manifest({ overrides: { '@fastify/static': '10.1.0' } }), '--npm-audit-json', refused);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /npm audit could not answer \(405 Method Not Allowed/);
  });

  it("passes for the repository's package.json, listing its pins", () => {
    const run = auditPins('--offline');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /fast-jwt@\d+\.\d+\.\d+ \(dependencies\)/);
    assert.match(run.stdout, /no pinned dependency has a known advisory/);
  });

  it('refuses an unknown argument or an unreadable manifest with exit code 2', () => {
    assert.equal(auditPins('--what').code, 2);
    assert.equal(auditPins('--manifest', join(dir, 'missing.json')).code, 2);
  });
});
