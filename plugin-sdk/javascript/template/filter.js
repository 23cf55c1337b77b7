// {{name}}: a Weir filter in JavaScript.
//
// Keeps the predictions at or above `min_confidence` (default 0.5), drops the event
// when none is left, and says in the metadata how many were kept. Build: npm run build
import { FilterError, drop, keep, parseConfig } from 'weir-filter-sdk';

let minConfidence = 0.5;

// Called once per instance with the route's config, parsed from JSON.
export function init(raw) {
  const config = parseConfig(raw, { min_confidence: 0.5 }); // unknown keys are refused
  if (!(config.min_confidence >= 0 && config.min_confidence <= 1)) {
    throw new FilterError(`min_confidence must be between 0 and 1, got ${config.min_confidence}`);
  }
  minConfidence = config.min_confidence;
}

// Called once per event: return keep() or drop(reason).
export function filter(event) {
  const confident = event
    .predictionList()
    .filter((p) => p.confidence === undefined || p.confidence >= minConfidence);
  if (confident.length === 0) return drop(`nothing at confidence >= ${minConfidence}`);
  event.keepPredictions(confident);
  event.setMetadata('{{name}}-kept', confident.length);
  return keep();
}
