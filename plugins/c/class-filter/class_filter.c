/* class-filter: keeps only the predictions of the configured classes at or above a
 * minimum confidence, and drops the event when none is left; the masks of removed
 * predictions go too. The C twin of plugins/rust/class-filter: same config, same
 * output, byte for byte. Built with the C SDK (plugin-sdk/c: weir.h, weir.c). */
#include <stdlib.h>
#include <string.h>

#include "weir.h"

/* The config: {"classes": [...], "min_confidence": 0.5, "remove_orphaned_masks": true}. */
static const char *const *classes; /* to keep; none keeps every class */
static size_t class_count;
static double min_confidence = 0;
static bool remove_orphaned_masks = true;
static const char *nothing_left; /* the drop reason */

const char *weir_on_init(const weir_json *config) {
    static const char *const known[] = {"classes", "min_confidence", "remove_orphaned_masks", NULL};
    const char *error;
    if ((error = weir_config_keys(config, known)) ||
        (error = weir_config_strings(config, "classes", &classes, &class_count)) ||
        (error = weir_config_number(config, "min_confidence", &min_confidence)) ||
        (error = weir_config_bool(config, "remove_orphaned_masks", &remove_orphaned_masks)))
        return error;
    if (!(min_confidence >= 0 && min_confidence <= 1))
        return weir_printf("min_confidence must be between 0 and 1, got %s", weir_number(min_confidence));
    /* "no prediction of person, car at confidence >= 0.5" */
    size_t length = 16;
    for (size_t i = 0; i < class_count; i++) length += strlen(classes[i]) + 2;
    char *joined = weir_printf("%*s", (int)length, "");
    joined[0] = 0;
    for (size_t i = 0; i < class_count; i++) {
        if (i) strcat(joined, ", ");
        strcat(joined, classes[i]);
    }
    nothing_left = weir_printf("no prediction of %s at confidence >= %s", class_count ? joined : "any class",
                               weir_number(min_confidence));
    return NULL;
}

static bool keeps(const weir_prediction *p) {
    bool class_ok = class_count == 0;
    for (size_t i = 0; i < class_count && !class_ok; i++) class_ok = strcmp(classes[i], p->class_name) == 0;
    return class_ok && (!p->has_confidence || p->confidence >= min_confidence);
}

static bool contains(const char *const *list, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0) return true;
    return false;
}

weir_verdict weir_on_event(weir_event *event) {
    /* Weir lists the predictions: no JSON here, and Weir edits the document from the
     * indices kept. */
    size_t n = event->prediction_count, kept = 0, kept_mask_count = 0, orphan_count = 0;
    uint32_t *keep = malloc((n + 1) * sizeof *keep);
    bool *is_kept = calloc(n + 1, 1);
    const char **kept_masks = malloc((n + 1) * sizeof *kept_masks);
    const char **orphaned = malloc((n + 1) * sizeof *orphaned);
    for (size_t i = 0; i < n; i++) {
        const weir_prediction *p = &event->prediction_list[i];
        if (!keeps(p)) continue;
        keep[kept++] = p->index;
        is_kept[i] = true;
        if (p->mask) kept_masks[kept_mask_count++] = p->mask;
    }
    weir_verdict verdict = weir_keep();
    if (kept == 0) {
        verdict = weir_drop("%s", nothing_left);
    } else if (kept < n) {
        /* Masks referred to only by removed predictions, and present on the event. */
        for (size_t i = 0; i < n && remove_orphaned_masks; i++) {
            const char *mask = event->prediction_list[i].mask;
            if (!mask || is_kept[i] || contains(kept_masks, kept_mask_count, mask) ||
                contains(orphaned, orphan_count, mask))
                continue;
            for (size_t a = 0; a < event->attachment_count; a++)
                if (strcmp(event->attachments[a].name, mask) == 0) {
                    orphaned[orphan_count++] = mask;
                    break;
                }
        }
        int refused = weir_keep_predictions(event, keep, kept);
        for (size_t i = 0; i < orphan_count && !refused; i++) refused = weir_remove_attachment(event, orphaned[i]);
        if (refused) verdict = weir_error(false, "edit refused: %s", weir_refusal_kind(refused));
    }
    free(keep);
    free(is_kept);
    free(kept_masks);
    free(orphaned);
    return verdict;
}
