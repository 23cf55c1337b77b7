// The TypeScript declarations generated from the WIT are the committed ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

test('src/wit/ is what wit/filter.wit generates', () => {
  const run = spawnSync(process.execPath, [resolve(here, '../gen-types.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr + run.stdout);
});
