// A Weir filter in JavaScript, with the SDK (plugin-sdk/javascript): the class filter of
// plugins/rust/class-filter, ported. Same config keys, same decisions, same messages
// (the suite runs both on every fixture and compares).
//
// Keeps only the predictions of the configured classes at or above a minimum
// confidence, drops the event when none is left, and removes the mask attachments of
// the predictions it removed. Every task type and batch job results are handled: Weir
// lists the predictions (`event.predictionList()`) and edits the document.
import { FilterError, drop, keep, log, parseConfig, rustNumber } from 'weir-filter-sdk';

let classes = new Set();
let minConfidence = 0;
let removeOrphanedMasks = true;
let nothingLeft = '';

export function init(raw) {
  const config = parseConfig(raw, { classes: [], min_confidence: 0, remove_orphaned_masks: true }, { stringArrays: ['classes'] });
  if (!(config.min_confidence >= 0 && config.min_confidence <= 1)) {
    throw new FilterError(`min_confidence must be between 0 and 1, got ${rustNumber(config.min_confidence)}`);
  }
  classes = new Set(config.classes);
  minConfidence = config.min_confidence;
  removeOrphanedMasks = config.remove_orphaned_masks;
  const which = config.classes.length === 0 ? 'any class' : config.classes.join(', ');
  nothingLeft = `no prediction of ${which} at confidence >= ${rustNumber(minConfidence)}`;
  log.debug(`class filter ready: ${which} at >= ${rustNumber(minConfidence)}`);
}

function keeps(prediction) {
  return (
    (classes.size === 0 || classes.has(prediction.class)) &&
    (prediction.confidence === undefined || prediction.confidence >= minConfidence)
  );
}

export function filter(event) {
  // Weir reads the predictions for us (every task type, and batch job results): no
  // JSON.parse here, and Weir edits the document from the indices kept.
  const items = event.predictionList();
  const keep_ = items.filter(keeps).map((p) => p.index);
  if (keep_.length === 0) return drop(nothingLeft);
  if (keep_.length === items.length) return keep();
  // Masks referred to only by removed predictions, and present on the event.
  const orphaned = [];
  if (removeOrphanedMasks) {
    const kept = new Set(keep_);
    const keptMasks = new Set(keep_.map((i) => items[i].mask).filter((m) => m !== undefined));
    let present;
    for (const item of items) {
      const mask = item.mask;
      if (mask === undefined || kept.has(item.index) || keptMasks.has(mask) || orphaned.includes(mask)) continue;
      present ??= new Set(event.attachments().map((a) => a.name));
      if (present.has(mask)) orphaned.push(mask);
    }
  }
  event.keepPredictions(keep_);
  for (const mask of orphaned) event.removeAttachment(mask);
  return keep();
}
