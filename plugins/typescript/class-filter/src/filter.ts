// A Weir filter in TypeScript, with the SDK (plugin-sdk/javascript, typed from the WIT):
// the class filter of plugins/rust/class-filter. Same config keys, same decisions, same
// messages (compared with the Rust one on every fixture).
import { type Event, type Prediction, type Verdict, FilterError, drop, keep, parseConfig, rustNumber } from 'weir-filter-sdk';

interface Config {
  /** Classes to keep; empty keeps every class. */
  classes: string[];
  /** Lowest confidence kept, 0 to 1; predictions without one are judged on their class. */
  min_confidence: number;
  /** Also remove the mask attachments of removed predictions. */
  remove_orphaned_masks: boolean;
}

const defaults: Config = { classes: [], min_confidence: 0, remove_orphaned_masks: true };
let config: Config = defaults;
let classes = new Set<string>();
let nothingLeft = '';

export function init(raw: unknown): void {
  config = parseConfig(raw, defaults, { stringArrays: ['classes'] });
  if (!(config.min_confidence >= 0 && config.min_confidence <= 1)) {
    throw new FilterError(`min_confidence must be between 0 and 1, got ${rustNumber(config.min_confidence)}`);
  }
  classes = new Set(config.classes);
  const which = config.classes.length === 0 ? 'any class' : config.classes.join(', ');
  nothingLeft = `no prediction of ${which} at confidence >= ${rustNumber(config.min_confidence)}`;
}

function keeps(prediction: Prediction): boolean {
  return (
    (classes.size === 0 || classes.has(prediction.class)) &&
    (prediction.confidence === undefined || prediction.confidence >= config.min_confidence)
  );
}

export function filter(event: Event): Verdict {
  // Weir lists the predictions of every task type: no JSON parsing here.
  const items = event.predictionList();
  const kept = items.filter(keeps).map((p) => p.index);
  if (kept.length === 0) return drop(nothingLeft);
  if (kept.length === items.length) return keep();
  // Masks referred to only by removed predictions, and present on the event.
  const orphaned: string[] = [];
  if (config.remove_orphaned_masks) {
    const keptSet = new Set(kept);
    const keptMasks = new Set(kept.map((i) => items[i].mask).filter((m): m is string => m !== undefined));
    let present: Set<string> | undefined;
    for (const item of items) {
      const mask = item.mask;
      if (mask === undefined || keptSet.has(item.index) || keptMasks.has(mask) || orphaned.includes(mask)) continue;
      present ??= new Set(event.attachments().map((a) => a.name));
      if (present.has(mask)) orphaned.push(mask);
    }
  }
  event.keepPredictions(kept);
  for (const mask of orphaned) event.removeAttachment(mask);
  return keep();
}
