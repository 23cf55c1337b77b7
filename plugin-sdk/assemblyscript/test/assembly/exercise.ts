// The SDK's exercise: every edit, the local refusals, the state store, attachment
// bytes, the log and a retryable error, checked by check.sh.
import { JSON } from "json-as";
import { Event, Filter, Refusal, Verdict, log, register, state } from "weir-sdk/assembly";
export { weir_abi_version, weir_alloc, weir_init, weir_filter } from "weir-sdk/assembly";

@json
class Config {}

function kind(r: Refusal | null): string {
  return r == null ? "accepted" : r.kind;
}

class Exercise extends Filter<Config> {
  init(config: Config): string | null {
    return null;
  }

  filter(e: Event): Verdict {
    if (e.metadataValue("fail") != null) return Verdict.error("asked to fail", true);
    const refusals =
      kind(e.keepPredictions([99])) + "," + kind(e.removeAttachment("nope")) + "," +
      kind(e.narrowDestinations(["zzz"])) + "," + kind(e.setPredictions("{nope"));
    let failures = 0;
    if (state.set("k", "v", state.NO_EXPIRY) != null) failures++;
    const got = state.get("k");
    const n = state.increment("n", 5, state.NO_EXPIRY);
    const swapped = state.compareAndSet("k", "v", "w", state.NO_EXPIRY);
    const deleted = state.remove("k");
    const absent = state.get("k") == null ? "absent" : "present";
    const image = e.attachmentBytes("image.jpeg");
    if (e.setMetadata("r", refusals) != null) failures++;
    const s = (got == null ? "" : got) + "," + n.value.toString() + "," + (swapped.value ? "true" : "false") + "," +
      (deleted ? "true" : "false") + "," + absent;
    if (e.setMetadata("s", s) != null) failures++;
    if (e.setMetadata("img", (image == null ? 0 : image.length).toString()) != null) failures++;
    if (e.setMetadata("task", e.task) != null) failures++;
    if (e.removeMetadata("camera") != null) failures++;
    if (e.narrowDestinations(["y"]) != null) failures++;
    if (e.setPredictions('{"predictions":[{"class":"a"},{"class":"b"}]}') != null) failures++;
    if (e.keepPredictions([1]) != null) failures++;
    if (e.removeAttachment("image.jpeg") != null) failures++;
    log.info("exercised " + e.predictionList.length.toString() + " predictions");
    return failures ? Verdict.error(failures.toString() + " calls failed") : Verdict.keep();
  }
}

register(new Exercise());
