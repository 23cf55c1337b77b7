/// <reference path="./interfaces/weir-filter-host.d.ts" />
/// <reference path="./interfaces/weir-filter-state.d.ts" />
/// <reference path="./interfaces/weir-filter-types.d.ts" />
declare module 'weir:filter/filter@0.2.0' {
  export type Event = import('weir:filter/types@0.2.0').Event;
  export type Verdict = import('weir:filter/types@0.2.0').Verdict;
  export type FilterError = import('weir:filter/types@0.2.0').FilterError;
  export type * as WeirFilterHost020 from 'weir:filter/host@0.2.0'; // import weir:filter/host@0.2.0
  export type * as WeirFilterState020 from 'weir:filter/state@0.2.0'; // import weir:filter/state@0.2.0
  export type * as WeirFilterTypes020 from 'weir:filter/types@0.2.0'; // import weir:filter/types@0.2.0
  /**
  * Called once per instance, before any event, with the filter's
  * configuration from the route as JSON text (`{}` when the route gives
  * none). Returning an error refuses the configuration: the plugin is
  * reported as failing to initialise with this message, and no event is
  * given to it.
  */
  export function init(config: string): void;
  /**
  * Decides what happens to one event.
  * 
  * Returning an error means the filter could not process this event (as
  * opposed to dropping it on purpose): see `filter-error.retryable`.
  */
  export function filter(event: Event): Verdict;
  export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
}
