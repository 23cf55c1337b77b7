/* The SDK's exercise: every edit, the local refusals, the state store, attachment
 * bytes, the log and a retryable error, checked by check.sh. */
#include <stdlib.h>
#include <string.h>

#include "weir.h"

static int failures;

static void must(int code) { failures += code != WEIR_OK; }

weir_verdict weir_on_event(weir_event *e) {
    if (weir_metadata_value(e, "fail")) return weir_error(true, "asked to fail");
    uint32_t far = 99, second = 1;
    const char *zzz = "zzz", *y = "y";
    const char *refusals = weir_printf("%s,%s,%s,%s", weir_refusal_kind(weir_keep_predictions(e, &far, 1)),
                                       weir_refusal_kind(weir_remove_attachment(e, "nope")),
                                       weir_refusal_kind(weir_narrow_destinations(e, &zzz, 1)),
                                       weir_refusal_kind(weir_set_predictions(e, "{nope", 5)));
    must(weir_state_set("k", "v", 1, WEIR_NO_EXPIRY));
    const uint8_t *got = weir_state_get("k", NULL);
    int64_t n = 0;
    bool swapped = false;
    must(weir_state_increment("n", 5, WEIR_NO_EXPIRY, &n));
    must(weir_state_compare_and_set("k", "v", 1, "w", 1, WEIR_NO_EXPIRY, &swapped));
    bool deleted = weir_state_delete("k");
    const char *absent = weir_state_get("k", NULL) ? "present" : "absent";
    size_t image = 0;
    weir_attachment_bytes("image.jpeg", &image);
    must(weir_set_metadata(e, "r", refusals));
    must(weir_set_metadata(e, "s", weir_printf("%s,%lld,%s,%s,%s", got ? (const char *)got : "", (long long)n,
                                               swapped ? "true" : "false", deleted ? "true" : "false", absent)));
    must(weir_set_metadata(e, "img", weir_printf("%zu", image)));
    must(weir_set_metadata(e, "task", e->task));
    must(weir_remove_metadata(e, "camera"));
    must(weir_narrow_destinations(e, &y, 1));
    const char *doc = "{\"predictions\":[{\"class\":\"a\"},{\"class\":\"b\"}]}";
    must(weir_set_predictions(e, doc, strlen(doc)));
    must(weir_keep_predictions(e, &second, 1));
    must(weir_remove_attachment(e, "image.jpeg"));
    weir_log(WEIR_LOG_INFO, "exercised %zu predictions", e->prediction_count);
    return failures ? weir_error(false, "%d calls failed", failures) : weir_keep();
}
