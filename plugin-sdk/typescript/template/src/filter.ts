// {{name}}: a Weir filter in TypeScript.
//
// Keeps the predictions at or above `min_confidence` (default 0.5), drops the event
// when none is left, and says in the metadata how many were kept. Build: npm run build
import { type Event, type Verdict, FilterError, drop, keep, parseConfig } from 'weir-filter-sdk';

interface Config {
  min_confidence: number;
}

let config: Config = { min_confidence: 0.5 };

// Called once per instance with the route's config, parsed from JSON.
export function init(raw: unknown): void {
  config = parseConfig(raw, config); // unknown keys and wrong types are refused
  if (!(config.min_confidence >= 0 && config.min_confidence <= 1)) {
    throw new FilterError(`min_confidence must be between 0 and 1, got ${config.min_confidence}`);
  }
}

// Called once per event: return keep() or drop(reason).
export function filter(event: Event): Verdict {
  const confident = event
    .predictionList()
    .filter((p) => p.confidence === undefined || p.confidence >= config.min_confidence);
  if (confident.length === 0) return drop(`nothing at confidence >= ${config.min_confidence}`);
  event.keepPredictions(confident);
  event.setMetadata('{{name}}-kept', confident.length);
  return keep();
}
