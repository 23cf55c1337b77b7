// {{name}}: a Weir filter in AssemblyScript. Keeps the predictions at or above
// min_confidence and drops the event when none is left. The SDK is the weir-sdk
// package in weir-sdk/ (its README tells the whole API).
import { JSON } from "json-as";
import { Event, Filter, Verdict, formatNumber, log, register } from "weir-sdk/assembly";
// The module's exports live in the SDK: the entry file passes them on.
export { weir_abi_version, weir_alloc, weir_init, weir_filter } from "weir-sdk/assembly";

/** The config from the route ({"min_confidence": 0.8}); unknown keys are refused. */
@json
class Config {
  min_confidence: f64 = 0.5;
}

class MyFilter extends Filter<Config> {
  min: f64 = 0.5;

  init(config: Config): string | null {
    this.min = config.min_confidence;
    log.info("keeping predictions at confidence >= " + formatNumber(this.min));
    return null; // a message instead refuses the config
  }

  filter(event: Event): Verdict {
    const keep: u32[] = [];
    for (let i = 0; i < event.predictionList.length; i++) {
      const p = event.predictionList[i];
      if (p.confidenceOr(1) >= this.min) keep.push(p.index);
    }
    if (keep.length == 0) return Verdict.drop("nothing at confidence >= " + formatNumber(this.min));
    if (keep.length < event.predictionList.length) {
      const refused = event.keepPredictions(keep);
      if (refused != null) return Verdict.error(refused.message);
    }
    return Verdict.keep();
  }
}

register(new MyFilter());
