/**
 * Every relative link in the README, the root docs, docs/ and docs/adr/ resolves: to a file that exists and,
 * with a #fragment, to a heading of that file (GitHub's anchors). Reads files only: fast.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';

const ROOT_DOCS = ['README.md', 'ARCHITECTURE.md', 'CHANGELOG.md', 'CONTRIBUTING.md'];

function markdownFiles(): string[] {
  const docs = ['docs', join('docs', 'adr')].flatMap((folder) =>
    readdirSync(join(REPO_ROOT, folder))
      .filter((name) => name.endsWith('.md'))
      .map((name) => join(folder, name)),
  );
  const examples = readdirSync(join(REPO_ROOT, 'examples'))
    .map((name) => join('examples', name, 'README.md'))
    .filter((path) => existsSync(join(REPO_ROOT, path)));
  return [...ROOT_DOCS, ...docs, ...examples];
}

/** The text outside fenced code blocks. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '');
}

/** GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** Relative links of a file: [text](target), not http(s):, mailto: or <autolinks>. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target!).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('links in the docs', () => {
  it('computes GitHub anchors', () => {
    assert.deepEqual(
      [
        ...anchors(
          '# A `.env` file for local runs\n## Scale-out: PostgreSQL, Redis, many instances\n```\n# not a heading\n```\n## 1. Production checklist\n## Routes\n## Routes\n',
        ),
      ],
      ['a-env-file-for-local-runs', 'scale-out-postgresql-redis-many-instances', '1-production-checklist', 'routes', 'routes-1'],
    );
  });

  it('every relative link resolves to a file and, with a fragment, to a heading', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const markdown = readFileSync(join(REPO_ROOT, file), 'utf8');
      for (const link of relativeLinks(markdown)) {
        const [path, fragment] = link.split('#', 2) as [string, string | undefined];
        const target = path === '' ? join(REPO_ROOT, file) : join(REPO_ROOT, dirname(file), decodeURIComponent(path));
        if (!existsSync(target)) {
          broken.push(`${file}: ${link} (no file ${relative(REPO_ROOT, target)})`);
          continue;
        }
        if (fragment === undefined || statSync(target).isDirectory() || !target.endsWith('.md')) continue;
        if (!anchors(readFileSync(target, 'utf8')).has(fragment)) broken.push(`${file}: ${link} (no heading #${fragment})`);
      }
    }
    assert.deepEqual(broken, []);
  });
});
