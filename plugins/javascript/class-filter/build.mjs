// node build.mjs [OUT.wasm]: the same as ./build.sh, for callers that run node (the
// default output is js-class-filter.wasm here). The build is the SDK's:
// plugin-sdk/javascript/build.mjs (run `npm install` there first).
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, 'js-class-filter.wasm'));
const sdkBuild = resolve(here, '../../../plugin-sdk/javascript/build.mjs');
const run = spawnSync(process.execPath, [sdkBuild, resolve(here, 'filter.js'), '-o', out], { stdio: 'inherit' });
process.exit(run.status ?? 1);
