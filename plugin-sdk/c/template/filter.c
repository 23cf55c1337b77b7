/* {{name}}: a Weir filter in C. Keeps the predictions at or above min_confidence and
 * drops the event when none is left. The SDK is weir-sdk/weir.h (its README tells the
 * whole API). */
#include <stdlib.h>

#include "weir.h"

static double min_confidence = 0.5;

/* The config from the route: {"min_confidence": 0.8}. NULL accepts it. */
const char *weir_on_init(const weir_json *config) {
    static const char *const known[] = {"min_confidence", NULL};
    const char *error;
    if ((error = weir_config_keys(config, known)) ||
        (error = weir_config_number(config, "min_confidence", &min_confidence)))
        return error;
    weir_log(WEIR_LOG_INFO, "keeping predictions at confidence >= %s", weir_number(min_confidence));
    return NULL;
}

weir_verdict weir_on_event(weir_event *event) {
    uint32_t *keep = malloc((event->prediction_count + 1) * sizeof *keep);
    size_t kept = 0;
    for (size_t i = 0; i < event->prediction_count; i++) {
        const weir_prediction *p = &event->prediction_list[i];
        if (!p->has_confidence || p->confidence >= min_confidence) keep[kept++] = p->index;
    }
    weir_verdict verdict = weir_keep();
    if (kept == 0) {
        verdict = weir_drop("nothing at confidence >= %s", weir_number(min_confidence));
    } else if (kept < event->prediction_count) {
        int refused = weir_keep_predictions(event, keep, kept);
        if (refused) verdict = weir_error(false, "keep_predictions refused: %s", weir_refusal_kind(refused));
    }
    free(keep);
    return verdict;
}
