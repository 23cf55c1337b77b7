// The glue between a filter module and the world's exports. The build script bundles an
// entry module that does
//
//   import * as app from './app.js';
//   export const { init, filter } = exportFilter(app);
//
// so the filter module is plain JavaScript: `init(config)` gets the parsed config,
// `filter(event)` gets the SDK's Event and returns keep() or drop(reason). Whatever they
// throw becomes the contract's filter-error, `{message, retryable}`.
import { Event, FilterError } from './index.js';

function errorOf(error) {
  if (error instanceof FilterError) return { message: error.message, retryable: error.retryable };
  if (error instanceof Error) {
    const where = locate(error);
    const text = error.message ? `${error.name}: ${error.message}` : error.name;
    return { message: where ? `${text} (in ${where})` : text, retryable: false };
  }
  if (error && typeof error === 'object' && typeof error.message === 'string') {
    return { message: error.message, retryable: Boolean(error.retryable) };
  }
  return { message: `thrown: ${typeof error === 'string' ? error : JSON.stringify(error) ?? String(error)}`, retryable: false };
}

// The function the error was thrown in, from the innermost frame of its stack
// (`name@file:line:column`). Not the line: the filter runs bundled, so lines are the
// bundle's, not the module's.
function locate(error) {
  const stack = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  for (const line of stack) {
    const match = /^([\w$.<>/]+)@/.exec(line.trim());
    if (match) return match[1];
  }
  return undefined;
}

/** The world's `init` and `filter` exports for a filter module. */
export function exportFilter(app) {
  if (typeof app.filter !== 'function') {
    throw new Error('the filter module exports no function filter(event)');
  }
  let ready = false;
  return {
    init(config) {
      try {
        let raw;
        try {
          raw = config.trim() === '' ? {} : JSON.parse(config);
        } catch (error) {
          throw new FilterError(`invalid config: ${error.message}`);
        }
        if (typeof app.init === 'function') app.init(raw);
        ready = true;
      } catch (error) {
        throw errorOf(error);
      }
    },
    filter(handle) {
      let verdict;
      try {
        if (!ready) throw new FilterError('filter called before init');
        verdict = app.filter(new Event(handle));
        if (verdict === null || typeof verdict !== 'object' || (verdict.tag !== 'keep' && verdict.tag !== 'drop')) {
          throw new FilterError(`the filter returned ${JSON.stringify(verdict) ?? String(verdict)}: return keep() or drop(reason)`);
        }
      } catch (error) {
        throw errorOf(error);
      }
      return verdict;
    },
  };
}
