// A Weir filter in JavaScript: the class filter of plugins/class-filter, ported.
//
// Keeps only the predictions of the configured classes at or above a minimum
// confidence, drops the event when none is left, and removes the mask attachments of
// the predictions it removed. Every task type and batch job results are handled, since
// Weir lists the predictions (`event.predictionList()`) and edits the document.
//
// The contract (wit/filter.wit, weir:filter@0.2.0) seen from JavaScript: `init` and
// `filter` are the exports; throwing a `{ message, retryable }` object returns it as the
// filter's error; `event` is a host object whose methods read the event lazily and
// edit it (an edit Weir refuses throws).
import { log } from 'weir:filter/host@0.2.0';

function failure(message) {
  return { message, retryable: false };
}

let classes = new Set();
let minConfidence = 0;
let removeOrphanedMasks = true;

export function init(config) {
  let cfg;
  try {
    cfg = JSON.parse(config);
  } catch (e) {
    throw failure(`invalid config: ${e.message}`);
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw failure('invalid config: expected a JSON object');
  }
  for (const key of Object.keys(cfg)) {
    if (!['classes', 'min_confidence', 'remove_orphaned_masks'].includes(key)) {
      throw failure(`invalid config: unknown field \`${key}\``);
    }
  }
  const list = cfg.classes ?? [];
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) {
    throw failure('invalid config: classes must be an array of strings');
  }
  const min = cfg.min_confidence ?? 0;
  if (typeof min !== 'number' || !(min >= 0 && min <= 1)) {
    throw failure(`min_confidence must be between 0 and 1, got ${min}`);
  }
  classes = new Set(list);
  minConfidence = min;
  removeOrphanedMasks = cfg.remove_orphaned_masks ?? true;
  log('debug', `class filter ready: ${list.join(', ') || 'any class'} at >= ${min}`);
}

function keeps(cls, confidence) {
  return (classes.size === 0 || classes.has(cls)) && (typeof confidence !== 'number' || confidence >= minConfidence);
}

export function filter(event) {
  // Weir reads the predictions for us (every task type, and batch job results): no
  // JSON.parse here, and Weir edits the document from the indices kept.
  const items = event.predictionList();
  const keep = items.filter((item) => keeps(item.class, item.confidence)).map((item) => item.index);
  if (keep.length === 0) {
    const which = classes.size === 0 ? 'any class' : [...classes].join(', ');
    return { tag: 'drop', val: `no prediction of ${which} at confidence >= ${minConfidence}` };
  }
  if (keep.length === items.length) {
    return { tag: 'keep' };
  }
  const orphaned = [];
  if (removeOrphanedMasks) {
    const kept = new Set(keep);
    const keptMasks = new Set(keep.map((i) => items[i].mask).filter((m) => m !== undefined && m !== null));
    const present = new Set(event.attachments().map((a) => a.name));
    for (const item of items) {
      const mask = item.mask;
      if (mask === undefined || mask === null || kept.has(item.index) || keptMasks.has(mask)) continue;
      if (present.has(mask) && !orphaned.includes(mask)) orphaned.push(mask);
    }
  }
  event.keepPredictions(keep);
  for (const mask of orphaned) event.removeAttachment(mask);
  return { tag: 'keep' };
}
