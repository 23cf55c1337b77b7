// Builds filter.js into a WebAssembly component implementing the weir:filter world.
//
//   node build.mjs [OUT.wasm]      (default: js-class-filter.wasm next to this file)
//
// Uses the componentize-js API rather than the `jco componentize` command, which fails
// on relative paths. Every optional WASI feature is disabled: the component imports
// nothing but weir:filter itself, which is all a filter should need.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, 'js-class-filter.wasm'));
// componentize-js mangles the source path when run from `/`: build from here.
process.chdir(here);

const { component } = await componentize({
  sourcePath: resolve(here, 'filter.js'),
  witPath: resolve(here, '../../../wit'),
  worldName: 'filter',
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`${out}: ${component.length} bytes`);
