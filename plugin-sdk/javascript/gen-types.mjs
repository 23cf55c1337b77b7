// Generates the TypeScript declarations of the weir:filter world, as a guest sees it,
// from the WIT (wit/filter.wit, a link to the repository's wit/filter.wit) into
// src/wit/. `node gen-types.mjs --check` fails when the committed ones are stale.
//
// Uses jco-transpile's API (a dependency of componentize-js's jco) rather than
// `jco guest-types`, which fails in jco 1.35.0 with "failed to read path for WIT [...]
// No such file or directory (os error 44)": the preview2-shim copy its bindgen
// component runs on starts with no preopened directory. This gives it '/'.
import { createRequire } from 'node:module';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const transpileDir = dirname(dirname(require.resolve('@bytecodealliance/jco-transpile')));
// The very module instance the bindgen component imports (the copy nested under jco-transpile).
const fsUrl = pathToFileURL(
  createRequire(resolve(transpileDir, 'package.json')).resolve('@bytecodealliance/preview2-shim/filesystem'),
).href;
const { _setPreopens } = await import(fsUrl);
_setPreopens({ '/': '/' });
const { generateGuestTypes, writeFiles } = await import('@bytecodealliance/jco-transpile');

const check = process.argv.includes('--check');
const target = resolve(here, 'src/wit');
const outDir = check ? await mkdtemp(join(tmpdir(), 'weir-types-')) : target;
const files = await generateGuestTypes(resolve(here, 'wit'), { worldName: 'filter', outDir: outDir + '/' });
await writeFiles(files, false);

async function list(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath ?? entry.path, entry.name)));
  }
  return out.sort();
}

if (check) {
  const [want, have] = [await list(outDir), await list(target).catch(() => [])];
  let stale = JSON.stringify(want) !== JSON.stringify(have);
  for (const name of want) {
    if (stale) break;
    stale = (await readFile(join(outDir, name), 'utf8')) !== (await readFile(join(target, name), 'utf8'));
  }
  await rm(outDir, { recursive: true });
  if (stale) {
    console.error('src/wit/ is not what wit/filter.wit generates: run `node gen-types.mjs` and commit the result');
    process.exit(1);
  }
  console.log('src/wit/ matches wit/filter.wit');
} else {
  console.log(`wrote ${files.size ?? Object.keys(files).length} declaration files to ${relative(process.cwd(), target) || '.'}`);
}
