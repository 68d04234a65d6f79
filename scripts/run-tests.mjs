// Runs every test file under test/ (or those given as arguments) with node:test and tsx.
// Test files run in parallel processes; each makes its own fresh databases.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, suffix) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name), suffix) : e.name.endsWith(suffix) ? [join(dir, e.name)] : [],
  );
}

// The files that ran longest (40-100 s each of a ~9-minute run, 2 Dec 2026) start first: started in name
// order, the two longest began near the end and ran on alone while the other slots sat idle.
const LONGEST = [
  'test/users/user.search.test.ts',
  'test/cli/cli.test.ts',
  'test/users/search-index.test.ts',
  'test/users/user.cache.test.ts',
  'test/import/cli.test.ts',
  'test/users/stream-limits.test.ts',
  'test/ops/ops.test.ts',
  'test/users/multi-process.test.ts',
];
const rank = (file) => {
  const at = LONGEST.indexOf(file);
  return at < 0 ? LONGEST.length : at;
};

const suffix = process.env.ROSTER_TEST_SUFFIX ?? '.test.ts';
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : find('test', suffix)
        .filter((f) => !f.includes('/faults/') || suffix !== '.test.ts')
        .sort()
        .sort((a, b) => rank(a) - rank(b));
const concurrency = process.env.ROSTER_TEST_CONCURRENCY ?? '3';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
