// A Weir filter in JavaScript: the class filter of plugins/class-filter, ported.
//
// Keeps only the predictions of the configured classes at or above a minimum
// confidence, drops the event when none is left, and removes the mask attachments of
// the predictions it removed. Handles per-image predictions (`predictions[]`, or a
// bare array) and batch job results (`jobResults[]` / `imageResults[].objects[]`).
//
// The contract (wit/filter.wit) seen from JavaScript: `init` and `filter` are the
// exports; throwing a string returns it as the error; `event` is a host object whose
// methods read the event lazily.
import { log } from 'weir:filter/host@0.1.0';

let classes = new Set();
let minConfidence = 0;
let removeOrphanedMasks = true;

export function init(config) {
  let cfg;
  try {
    cfg = JSON.parse(config);
  } catch (e) {
    throw `invalid config: ${e.message}`;
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw 'invalid config: expected a JSON object';
  }
  for (const key of Object.keys(cfg)) {
    if (!['classes', 'min_confidence', 'remove_orphaned_masks'].includes(key)) {
      throw `invalid config: unknown field \`${key}\``;
    }
  }
  const list = cfg.classes ?? [];
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) {
    throw 'invalid config: classes must be an array of strings';
  }
  const min = cfg.min_confidence ?? 0;
  if (typeof min !== 'number' || !(min >= 0 && min <= 1)) {
    throw `min_confidence must be between 0 and 1, got ${min}`;
  }
  classes = new Set(list);
  minConfidence = min;
  removeOrphanedMasks = cfg.remove_orphaned_masks ?? true;
  log('debug', `class filter ready: ${list.join(', ') || 'any class'} at >= ${min}`);
}

function keeps(cls, confidence) {
  return (classes.size === 0 || classes.has(cls)) && (typeof confidence !== 'number' || confidence >= minConfidence);
}

function classOf(item) {
  const cls = item?.class ?? item?.label;
  return typeof cls === 'string' ? cls : undefined;
}

export function filter(event) {
  let doc;
  try {
    doc = JSON.parse(event.predictions());
  } catch (e) {
    throw `predictions are not valid JSON: ${e.message}`;
  }
  let kept = 0;
  let removed = 0;
  const keptMasks = new Set();
  const removedMasks = [];

  // Narrows a list of plain predictions in place; `counted` says whether it is the
  // list whose size decides "nothing left".
  const narrow = (list, counted) =>
    list.filter((item) => {
      const cls = classOf(item);
      if (cls === undefined) return true;
      const confidence = item.confidence ?? item.score;
      const keep = keeps(cls, confidence);
      if (counted) keep ? kept++ : removed++;
      if (typeof item.mask === 'string') (keep ? keptMasks.add(item.mask) : removedMasks.push(item.mask));
      return keep;
    });

  if (Array.isArray(doc)) {
    doc = narrow(doc, true);
  } else if (doc && Array.isArray(doc.predictions)) {
    doc.predictions = narrow(doc.predictions, true);
  } else if (doc && typeof doc === 'object') {
    const imagesCounted = Array.isArray(doc.imageResults);
    if (Array.isArray(doc.jobResults)) {
      doc.jobResults = doc.jobResults.filter((job) => {
        const cls = typeof job?.class === 'string' ? job.class : undefined;
        if (cls === undefined) return true;
        const keep = keeps(cls, job.confidence ?? job.image?.confidence);
        if (!imagesCounted) keep ? kept++ : removed++;
        return keep;
      });
    }
    if (imagesCounted) {
      doc.imageResults = doc.imageResults.filter((image) => {
        if (!Array.isArray(image?.objects) || image.objects.length === 0) return true;
        image.objects = narrow(image.objects, true);
        return image.objects.length > 0;
      });
    }
  }

  if (kept === 0) {
    const which = classes.size === 0 ? 'any class' : [...classes].join(', ');
    return { tag: 'drop', val: `no prediction of ${which} at confidence >= ${minConfidence}` };
  }
  if (removed === 0) {
    return { tag: 'keep' };
  }
  const present = new Set(event.attachments().map((a) => a.name));
  const orphaned = removeOrphanedMasks
    ? [...new Set(removedMasks)].filter((mask) => !keptMasks.has(mask) && present.has(mask))
    : [];
  return {
    tag: 'modify',
    val: {
      predictions: JSON.stringify(doc),
      removeAttachments: orphaned,
      setMetadata: [],
      removeMetadata: [],
      destinations: undefined,
    },
  };
}
