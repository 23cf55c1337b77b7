// class-filter: keeps only the predictions of the configured classes at or above a
// minimum confidence, and drops the event when none is left; the masks of removed
// predictions go too. The AssemblyScript twin of plugins/rust/class-filter: same
// config, same output, byte for byte. Built with the weir-sdk package
// (plugin-sdk/assemblyscript).
import { JSON } from "json-as";
import { Event, Filter, Prediction, Verdict, formatNumber, register } from "weir-sdk/assembly";
export { weir_abi_version, weir_alloc, weir_init, weir_filter } from "weir-sdk/assembly";

/** The config; unknown keys are refused. */
@json
class Config {
  /** Classes to keep; empty keeps every class. */
  classes: string[] = [];
  /** The lowest confidence kept, 0 to 1. Predictions without one are judged on their class alone. */
  min_confidence: f64 = 0;
  /** Also remove the mask attachments of removed predictions. */
  remove_orphaned_masks: bool = true;
}

class ClassFilter extends Filter<Config> {
  config: Config = new Config();
  nothingLeft: string = "";

  init(config: Config): string | null {
    if (!(config.min_confidence >= 0 && config.min_confidence <= 1))
      return "min_confidence must be between 0 and 1, got " + formatNumber(config.min_confidence);
    this.config = config;
    const classes = config.classes.length ? config.classes.join(", ") : "any class";
    this.nothingLeft = "no prediction of " + classes + " at confidence >= " + formatNumber(config.min_confidence);
    return null;
  }

  keeps(p: Prediction): bool {
    const classOk = this.config.classes.length == 0 || this.config.classes.includes(p.class);
    const c = p.confidence;
    return classOk && (c == null || c.value >= this.config.min_confidence);
  }

  filter(event: Event): Verdict {
    // Weir lists the predictions: no JSON here, and Weir edits the document from the
    // indices kept.
    const items = event.predictionList;
    const keep: u32[] = [];
    const keptMasks: string[] = [];
    for (let i = 0; i < items.length; i++) {
      const p = items[i];
      if (!this.keeps(p)) continue;
      keep.push(p.index);
      const mask = p.mask;
      if (mask != null) keptMasks.push(mask);
    }
    if (keep.length == 0) return Verdict.drop(this.nothingLeft);
    if (keep.length == items.length) return Verdict.keep();
    // Masks referred to only by removed predictions, and present on the event.
    const orphaned: string[] = [];
    if (this.config.remove_orphaned_masks) {
      for (let i = 0; i < items.length; i++) {
        const mask = items[i].mask;
        if (mask == null || keep.includes(items[i].index)) continue;
        let present = false;
        for (let a = 0; a < event.attachments.length; a++) if (event.attachments[a].name == mask) present = true;
        if (present && !keptMasks.includes(mask) && !orphaned.includes(mask)) orphaned.push(mask);
      }
    }
    let refused = event.keepPredictions(keep);
    for (let i = 0; i < orphaned.length && refused == null; i++) refused = event.removeAttachment(orphaned[i]);
    if (refused != null) return Verdict.error(refused.message);
    return Verdict.keep();
  }
}

register(new ClassFilter());
