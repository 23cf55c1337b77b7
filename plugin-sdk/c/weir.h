/* weir.h: write Weir filters in C, as WebAssembly core modules of contract 0.2
 * (wit/core-module.md). One header and one source file, no other library: weir.c owns
 * the module's exports (weir_alloc, weir_init, weir_filter, weir_abi_version), reads
 * the event Weir writes and writes the verdict. A filter defines two functions:
 *
 *     #include "weir.h"
 *
 *     static double min_confidence = 0.5;
 *
 *     const char *weir_on_init(const weir_json *config) {   // optional: NULL accepts
 *         return weir_config_number(config, "min_confidence", &min_confidence);
 *     }
 *
 *     weir_verdict weir_on_event(weir_event *event) {
 *         for (size_t i = 0; i < event->prediction_count; i++)
 *             if (event->prediction_list[i].confidence >= min_confidence) return weir_keep();
 *         return weir_drop("nothing confident enough");
 *     }
 *
 * Build (Debian: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wl,--strip-all \
 *         -o filter.wasm filter.c weir.c
 *
 * Memory: everything the SDK hands a filter during a call (the event, its strings,
 * weir_printf's results, JSON parsed with weir_json_parse) lives until the call
 * returns; the config and what weir_json_parse makes during weir_on_init live as long
 * as the instance. Strings are UTF-8 and NUL-terminated (a "\u0000" in JSON ends one).
 */
#ifndef WEIR_H
#define WEIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The contract this SDK speaks, as weir_abi_version returns it: 0.2.0. */
#define WEIR_ABI_VERSION 0x200

/* ---- JSON values: the config, and any JSON a filter wants to read ---- */

typedef enum {
    WEIR_JSON_NULL,
    WEIR_JSON_BOOL,
    WEIR_JSON_NUMBER,
    WEIR_JSON_STRING,
    WEIR_JSON_ARRAY,
    WEIR_JSON_OBJECT,
} weir_json_type;

typedef struct weir_json weir_json;
struct weir_json {
    weir_json_type type;
    bool boolean;       /* WEIR_JSON_BOOL */
    double number;      /* WEIR_JSON_NUMBER */
    const char *string; /* WEIR_JSON_STRING: decoded */
    size_t count;       /* WEIR_JSON_ARRAY, WEIR_JSON_OBJECT: how many items */
    const weir_json *first; /* the first item of an array or object, then ->next */
    const weir_json *next;
    const char *key;    /* an object's member: its key */
    const char *raw;    /* the value's JSON text, raw_length bytes (not NUL-terminated) */
    size_t raw_length;
};

/* Parses JSON text; NULL when it is not one JSON value. */
const weir_json *weir_json_parse(const char *text, size_t length);
/* The member `key` of an object; NULL when absent or not an object. */
const weir_json *weir_json_get(const weir_json *object, const char *key);
/* Item `index` of an array; NULL past the end. */
const weir_json *weir_json_at(const weir_json *array, size_t index);

/* Reading a config object, one key at a time. Each returns NULL when the key is
 * absent (leaving *out as it was: put the default there first) or read, or a message
 * that refuses the config ("invalid config: `min_confidence` must be a number"). */
const char *weir_config_number(const weir_json *config, const char *key, double *out);
const char *weir_config_bool(const weir_json *config, const char *key, bool *out);
const char *weir_config_string(const weir_json *config, const char *key, const char **out);
/* An array of strings: *out points at *count strings. */
const char *weir_config_strings(const weir_json *config, const char *key, const char *const **out, size_t *count);
/* Refuses a config that is not an object or has a key not in `known` (NULL-terminated). */
const char *weir_config_keys(const weir_json *config, const char *const *known);

/* ---- the event ---- */

typedef struct {
    double x, y, width, height; /* x, y: the top-left corner, in the document's units */
} weir_bbox;

/* One prediction, as Weir read it from the document. */
typedef struct {
    uint32_t index;         /* its place in prediction_list: what weir_keep_predictions takes */
    const char *class_name; /* the class label (`class` or `label`) */
    bool has_confidence;
    double confidence;      /* `confidence` or `score`; 1 when there is none */
    const char *mask;       /* the mask file it refers to, or NULL */
    bool has_bbox;
    weir_bbox bbox;
    const char *json;       /* the prediction as it stands in the document, json_length bytes */
    size_t json_length;
} weir_prediction;

typedef struct {
    const char *name;         /* mask_0000.png, image.jpeg */
    const char *content_type; /* image/png */
    uint64_t size;            /* bytes */
} weir_attachment;

typedef struct {
    const char *key, *value;
} weir_metadata;

/* Well-known tasks (weir_event.task is open: a sender may name others). */
#define WEIR_TASK_OBJECT_DETECTION "object-detection"
#define WEIR_TASK_CLASSIFICATION "classification"
#define WEIR_TASK_MULTILABEL_CLASSIFICATION "multilabel-classification"
#define WEIR_TASK_INSTANCE_SEGMENTATION "instance-segmentation"
#define WEIR_TASK_SEMANTIC_SEGMENTATION "semantic-segmentation"
#define WEIR_TASK_OTHER "other"

typedef struct weir_edits weir_edits;

/* One event, as it came in: edits are recorded, checked against the event as the
 * edits before them leave it, and applied by Weir in order when the filter keeps the
 * event; they do not change these fields. */
typedef struct {
    const char *id;    /* the sender's Idempotency-Key or webhook-id, or Weir's */
    const char *route; /* the route it came in on */
    const char *task;  /* the model's task: WEIR_TASK_... or another name */
    const weir_metadata *metadata; size_t metadata_count; /* in order, keys unique */
    const char *predictions; size_t predictions_length;   /* the document's JSON text */
    const weir_prediction *prediction_list; size_t prediction_count;
    const weir_attachment *attachments; size_t attachment_count; /* no bytes: see weir_attachment_bytes */
    const char *const *destinations; size_t destination_count;
    weir_edits *edits; /* the SDK's */
} weir_event;

/* The value of a metadata entry, or NULL. */
const char *weir_metadata_value(const weir_event *event, const char *key);
/* The bytes of an attachment (copied from Weir on request), or NULL when the event has
 * none of that name; *size gets their number. */
const uint8_t *weir_attachment_bytes(const char *name, size_t *size);

/* ---- edits: 0 when recorded, or a refusal (below), in which case nothing changes ---- */

#define WEIR_OK 0
#define WEIR_TOO_LARGE (-2)          /* too-large */
#define WEIR_NOT_A_NUMBER (-3)       /* not-a-number */
#define WEIR_OUT_OF_RANGE (-4)       /* out-of-range */
#define WEIR_NOT_UTF8 (-5)           /* not-utf8: a state key */
#define WEIR_NO_SUCH_PREDICTION (-10)
#define WEIR_NO_SUCH_ATTACHMENT (-11)
#define WEIR_NO_SUCH_DESTINATION (-12)
#define WEIR_INVALID_JSON (-13)
/* The refusal's kind as the contract names it ("no-such-prediction"...). */
const char *weir_refusal_kind(int code);

/* Keeps only the predictions at these indices of the prediction list (as the edits
 * before left it: after a first keep, indices refer to the kept ones, in order). */
int weir_keep_predictions(weir_event *event, const uint32_t *indices, size_t count);
/* Replaces the predictions document (JSON text). */
int weir_set_predictions(weir_event *event, const char *json, size_t length);
int weir_remove_attachment(weir_event *event, const char *name);
/* Adds a metadata entry, or overwrites the key's value in place. */
int weir_set_metadata(weir_event *event, const char *key, const char *value);
/* Removes a metadata entry (absent: not an error). */
int weir_remove_metadata(weir_event *event, const char *key);
/* Narrows the destinations to these names, each one of the current destinations. */
int weir_narrow_destinations(weir_event *event, const char *const *names, size_t count);

/* ---- the verdict ---- */

typedef enum { WEIR_KEEP, WEIR_DROP, WEIR_ERROR } weir_verdict_kind;
typedef struct {
    weir_verdict_kind kind;
    const char *text; /* the reason of a drop, the message of an error */
    bool retryable;   /* an error the same event could get past later: Weir answers 503 */
} weir_verdict;

/* Keeps the event, with its edits. */
weir_verdict weir_keep(void);
/* Drops the event; the reason (printf-style) is counted and logged. */
weir_verdict weir_drop(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Cannot process this event: the route's failure policy decides (or, retryable, 503). */
weir_verdict weir_error(bool retryable, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* printf into memory that lives until the call returns (during weir_on_init: for good). */
char *weir_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* A number as Rust (and so Weir's Rust filters) prints it: the shortest text that
 * reads back as the same double, never an exponent (0.5, 1, 0.0000001). */
const char *weir_number(double value);

/* ---- host services ---- */

enum { WEIR_LOG_TRACE, WEIR_LOG_DEBUG, WEIR_LOG_INFO, WEIR_LOG_WARN, WEIR_LOG_ERROR };
/* Writes a message to Weir's log, tagged with the plugin's name (printf-style). */
void weir_log(int level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The state store: one per filter of a route, shared by all its instances, kept across
 * hot reloads (and restarts with state = "durable"). ttl_ms < 0: no expiry. Each
 * returns WEIR_OK or a refusal code. */
#define WEIR_NO_EXPIRY (-1)
/* A key's value (NUL-terminated too), *length its size; NULL when absent or expired. */
const uint8_t *weir_state_get(const char *key, size_t *length);
int weir_state_set(const char *key, const void *value, size_t length, int64_t ttl_ms);
/* Sets the key to value (NULL: deletes it) only if its value is expected (NULL: absent
 * or expired); *set tells whether it was set. */
int weir_state_compare_and_set(const char *key, const void *expected, size_t expected_length,
                               const void *value, size_t value_length, int64_t ttl_ms, bool *set);
/* Sets the key if absent: *claimed is true for exactly one caller until it expires. */
int weir_state_claim(const char *key, int64_t ttl_ms, bool *claimed);
/* Adds delta to the key's decimal value (absent: 0); *sum gets the new value. */
int weir_state_increment(const char *key, int64_t delta, int64_t ttl_ms, int64_t *sum);
/* Deletes a key; true when a live entry was there. */
bool weir_state_delete(const char *key);

/* ---- what the filter defines ---- */

/* Called once per instance with the config (`{}` when the route gives none). Return
 * NULL to accept it, or a message refusing it. Optional: without it, any config is
 * accepted. */
const char *weir_on_init(const weir_json *config);
/* Called for every event. */
weir_verdict weir_on_event(weir_event *event);

#ifdef __cplusplus
}
#endif

#endif
