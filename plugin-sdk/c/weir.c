/* weir.c: the C SDK for Weir filters (see weir.h). Reads the event JSON Weir writes
 * (wit/core-module.md), writes verdicts, and owns the module's exports. */
#include "weir.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory: arenas freed all at once ---- */

typedef struct block {
    struct block *next;
    size_t used, size;
    _Alignas(8) unsigned char data[];
} block;

typedef struct {
    block *head;
} arena;

static arena call_arena;     /* freed when the next call starts */
static arena instance_arena; /* never freed: the config */
static arena *current = &call_arena;

static void *arena_alloc(arena *a, size_t size) {
    size = (size + 7) & ~(size_t)7;
    block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t want = size > 16384 ? size : 16384;
        b = malloc(sizeof(block) + want);
        if (!b) abort();
        b->next = a->head;
        b->used = 0;
        b->size = want;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

/* Frees all but the last block made, which is kept, emptied, for the next call. */
static void arena_reset(arena *a) {
    block *keep = a->head;
    if (!keep) return;
    block *b = keep->next;
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
    keep->next = NULL;
    keep->used = 0;
}

static void *alloc(size_t size) { return arena_alloc(current, size); }

static char *copy(const char *s, size_t n) {
    char *d = alloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* A growable byte buffer on the heap. */
typedef struct {
    char *data;
    size_t length, capacity;
} buffer;

static void buf_reserve(buffer *b, size_t more) {
    if (b->length + more <= b->capacity) return;
    size_t cap = b->capacity ? b->capacity * 2 : 256;
    while (cap < b->length + more) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) abort();
    b->capacity = cap;
}

static void buf_add(buffer *b, const char *s, size_t n) {
    buf_reserve(b, n);
    memcpy(b->data + b->length, s, n);
    b->length += n;
}

static void buf_str(buffer *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_char(buffer *b, char c) { buf_add(b, &c, 1); }

/* A JSON string literal. */
static void buf_json_string(buffer *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    buf_char(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            buf_char(b, '\\');
            buf_char(b, (char)c);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (c == '\n') buf_add(b, "\\n", 2);
            else if (c == '\t') buf_add(b, "\\t", 2);
            else if (c == '\r') buf_add(b, "\\r", 2);
            else buf_add(b, esc, 6);
        } else {
            buf_char(b, (char)c);
        }
    }
    buf_char(b, '"');
}

static char *vformat(const char *format, va_list args) {
    va_list again;
    va_copy(again, args);
    char small[256];
    int n = vsnprintf(small, sizeof small, format, args);
    if (n < 0) n = 0;
    char *out = alloc((size_t)n + 1);
    if ((size_t)n < sizeof small) memcpy(out, small, (size_t)n + 1);
    else vsnprintf(out, (size_t)n + 1, format, again);
    va_end(again);
    return out;
}

char *weir_printf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *out = vformat(format, args);
    va_end(args);
    return out;
}

const char *weir_number(double value) {
    if (isnan(value)) return "NaN";
    if (isinf(value)) return value < 0 ? "-inf" : "inf";
    /* The fewest significant digits that read back as the same double. */
    char sci[40];
    for (int precision = 0; precision < 17; precision++) {
        snprintf(sci, sizeof sci, "%.*e", precision, value);
        if (strtod(sci, NULL) == value) break;
    }
    /* sci: [-]d[.ddd]e[+-]xx, written out without the exponent. */
    const char *p = sci;
    bool negative = *p == '-';
    if (negative) p++;
    char digits[24];
    size_t n = 0;
    for (; *p != 'e'; p++)
        if (*p != '.') digits[n++] = *p;
    int exponent = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0') n--;
    char out[400];
    size_t o = 0;
    if (negative) out[o++] = '-';
    if (exponent < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = -1; i > exponent; i--) out[o++] = '0';
        for (size_t i = 0; i < n; i++) out[o++] = digits[i];
    } else {
        for (size_t i = 0; i < n || (int)i <= exponent; i++) {
            if ((int)i == exponent + 1) out[o++] = '.';
            out[o++] = i < n ? digits[i] : '0';
        }
    }
    return copy(out, o);
}

/* ---- reading JSON ---- */

typedef struct {
    const char *p, *end;
    bool failed;
    int depth;
} reader;

static void ws(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

static bool eat(reader *r, char c) {
    ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return true;
    }
    return false;
}

static void expect(reader *r, char c) {
    if (!eat(r, c)) r->failed = true;
}

static void put_utf8(char **o, unsigned cp) {
    unsigned char *u = (unsigned char *)*o;
    if (cp < 0x80) *u++ = (unsigned char)cp;
    else if (cp < 0x800) {
        *u++ = (unsigned char)(0xc0 | cp >> 6);
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *u++ = (unsigned char)(0xe0 | cp >> 12);
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *u++ = (unsigned char)(0xf0 | cp >> 18);
        *u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)u;
}

static int hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

/* A string, decoded; NULL (and failed) when it is not one. */
static const char *read_string(reader *r) {
    ws(r);
    if (r->p >= r->end || *r->p != '"') {
        r->failed = true;
        return NULL;
    }
    const char *start = ++r->p;
    bool escaped = false;
    while (r->p < r->end && *r->p != '"') {
        if ((unsigned char)*r->p < 0x20) break;
        if (*r->p == '\\') {
            escaped = true;
            r->p++;
        }
        r->p++;
    }
    if (r->p >= r->end || *r->p != '"') {
        r->failed = true;
        return NULL;
    }
    const char *stop = r->p++;
    if (!escaped) return copy(start, (size_t)(stop - start));
    char *out = alloc((size_t)(stop - start) + 1), *o = out;
    for (const char *p = start; p < stop; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        switch (*++p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case '/': case '\\': case '"': *o++ = *p; break;
        case 'u': {
            int cp = stop - p > 4 ? hex4(p + 1) : -1;
            if (cp < 0) goto bad;
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && stop - p > 6 && p[1] == '\\' && p[2] == 'u') {
                int low = hex4(p + 3);
                if (low >= 0xdc00 && low < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    p += 6;
                }
            }
            put_utf8(&o, (unsigned)cp);
            break;
        }
        default: goto bad;
        }
    }
    *o = 0;
    return out;
bad:
    r->failed = true;
    return NULL;
}

static double read_number(reader *r) {
    ws(r);
    const char *s = r->p, *p = s;
    if (p < r->end && *p == '-') p++;
    const char *digits = p;
    while (p < r->end && *p >= '0' && *p <= '9') p++;
    bool ok = p > digits && !(*digits == '0' && p - digits > 1);
    if (ok && p < r->end && *p == '.') {
        const char *f = ++p;
        while (p < r->end && *p >= '0' && *p <= '9') p++;
        ok = p > f;
    }
    if (ok && p < r->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < r->end && (*p == '+' || *p == '-')) p++;
        const char *e = p;
        while (p < r->end && *p >= '0' && *p <= '9') p++;
        ok = p > e;
    }
    if (!ok) {
        r->failed = true;
        return 0;
    }
    r->p = p;
    char text[64];
    size_t n = (size_t)(p - s);
    if (n < sizeof text) {
        memcpy(text, s, n);
        text[n] = 0;
        return strtod(text, NULL);
    }
    return strtod(copy(s, n), NULL);
}

static bool literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) >= n && memcmp(r->p, word, n) == 0) {
        r->p += n;
        return true;
    }
    return false;
}

static weir_json *read_value(reader *r);

/* Items of an array or members of an object, after the opening bracket. */
static void read_items(reader *r, weir_json *v, char close) {
    weir_json **tail = (weir_json **)&v->first;
    if (eat(r, close)) return;
    do {
        const char *key = NULL;
        if (close == '}') {
            key = read_string(r);
            expect(r, ':');
            if (r->failed) return;
        }
        weir_json *item = read_value(r);
        if (!item) return;
        item->key = key;
        *tail = item;
        tail = (weir_json **)&item->next;
        v->count++;
    } while (eat(r, ','));
    expect(r, close);
}

static weir_json *read_value(reader *r) {
    ws(r);
    if (r->p >= r->end || ++r->depth > 256) {
        r->failed = true;
        return NULL;
    }
    weir_json *v = alloc(sizeof *v);
    memset(v, 0, sizeof *v);
    v->raw = r->p;
    char c = *r->p;
    if (c == '{' || c == '[') {
        r->p++;
        v->type = c == '{' ? WEIR_JSON_OBJECT : WEIR_JSON_ARRAY;
        read_items(r, v, c == '{' ? '}' : ']');
    } else if (c == '"') {
        v->type = WEIR_JSON_STRING;
        v->string = read_string(r);
    } else if (literal(r, "true") || literal(r, "false")) {
        v->type = WEIR_JSON_BOOL;
        v->boolean = c == 't';
    } else if (literal(r, "null")) {
        v->type = WEIR_JSON_NULL;
    } else {
        v->type = WEIR_JSON_NUMBER;
        v->number = read_number(r);
    }
    r->depth--;
    v->raw_length = (size_t)(r->p - v->raw);
    return r->failed ? NULL : v;
}

/* Skips a value Weir wrote (so valid JSON), giving back its text. */
static const char *skip_value(reader *r, size_t *length) {
    ws(r);
    const char *start = r->p;
    int depth = 0;
    while (r->p < r->end) {
        char c = *r->p++;
        if (c == '"') {
            while (r->p < r->end && *r->p != '"') r->p += *r->p == '\\' ? 2 : 1;
            r->p++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
        if (depth == 0 && (r->p >= r->end || *r->p == ',' || *r->p == '}' || *r->p == ']' ||
                           *r->p == ' ' || *r->p == '\n'))
            break;
    }
    if (r->p > r->end || depth != 0) r->failed = true;
    *length = (size_t)(r->p - start);
    return start;
}

const weir_json *weir_json_parse(const char *text, size_t length) {
    reader r = {text, text + length, false, 0};
    weir_json *v = read_value(&r);
    ws(&r);
    return r.failed || r.p != r.end ? NULL : v;
}

const weir_json *weir_json_get(const weir_json *object, const char *key) {
    if (!object || object->type != WEIR_JSON_OBJECT) return NULL;
    for (const weir_json *m = object->first; m; m = m->next)
        if (strcmp(m->key, key) == 0) return m;
    return NULL;
}

const weir_json *weir_json_at(const weir_json *array, size_t index) {
    if (!array || (array->type != WEIR_JSON_ARRAY && array->type != WEIR_JSON_OBJECT)) return NULL;
    const weir_json *item = array->first;
    while (item && index--) item = item->next;
    return item;
}

/* ---- the config ---- */

static const char *config_error(const char *key, const char *what) {
    return weir_printf("invalid config: `%s` must be %s", key, what);
}

const char *weir_config_number(const weir_json *config, const char *key, double *out) {
    const weir_json *v = weir_json_get(config, key);
    if (!v) return NULL;
    if (v->type != WEIR_JSON_NUMBER) return config_error(key, "a number");
    *out = v->number;
    return NULL;
}

const char *weir_config_bool(const weir_json *config, const char *key, bool *out) {
    const weir_json *v = weir_json_get(config, key);
    if (!v) return NULL;
    if (v->type != WEIR_JSON_BOOL) return config_error(key, "true or false");
    *out = v->boolean;
    return NULL;
}

const char *weir_config_string(const weir_json *config, const char *key, const char **out) {
    const weir_json *v = weir_json_get(config, key);
    if (!v) return NULL;
    if (v->type != WEIR_JSON_STRING) return config_error(key, "a string");
    *out = v->string;
    return NULL;
}

const char *weir_config_strings(const weir_json *config, const char *key, const char *const **out, size_t *count) {
    const weir_json *v = weir_json_get(config, key);
    if (!v) return NULL;
    if (v->type != WEIR_JSON_ARRAY) return config_error(key, "an array of strings");
    const char **list = alloc((v->count + 1) * sizeof *list);
    size_t n = 0;
    for (const weir_json *item = v->first; item; item = item->next) {
        if (item->type != WEIR_JSON_STRING) return config_error(key, "an array of strings");
        list[n++] = item->string;
    }
    list[n] = NULL;
    *out = list;
    *count = n;
    return NULL;
}

const char *weir_config_keys(const weir_json *config, const char *const *known) {
    if (!config || config->type != WEIR_JSON_OBJECT) return "invalid config: it must be a JSON object";
    for (const weir_json *m = config->first; m; m = m->next) {
        bool found = false;
        for (const char *const *k = known; *k && !found; k++) found = strcmp(*k, m->key) == 0;
        if (!found) {
            buffer names = {0};
            for (const char *const *k = known; *k; k++) {
                if (k != known) buf_str(&names, ", ");
                buf_char(&names, '`');
                buf_str(&names, *k);
                buf_char(&names, '`');
            }
            buf_char(&names, 0);
            const char *message = weir_printf("invalid config: unknown field `%s`, expected %s%s", m->key,
                                              known[0] && known[1] ? "one of " : "", names.data ? names.data : "nothing");
            free(names.data);
            return message;
        }
    }
    return NULL;
}

/* ---- the event ---- */

struct weir_edits {
    buffer json;     /* the edits, comma-separated */
    long count;      /* predictions listed after the edits so far; -1 once unknown */
    bool *removed;   /* attachments removed so far */
    bool *narrowed;  /* destinations narrowed out so far */
    const char **keys; size_t key_count; /* metadata keys, once an edit touched them */
    bool keys_known;
};

/* A growable array in the arena. */
#define GROW(list, n, cap)                                                       \
    do {                                                                         \
        if ((n) == (cap)) {                                                      \
            size_t grown = (cap) ? (cap) * 2 : 8;                                \
            void *bigger = alloc(grown * sizeof *(list));                        \
            if (n) memcpy(bigger, (list), (n) * sizeof *(list));                 \
            (list) = bigger;                                                     \
            (cap) = grown;                                                       \
        }                                                                        \
    } while (0)

static bool key_is(const char *key, const char *want) { return key && strcmp(key, want) == 0; }

static void read_prediction(reader *r, weir_prediction *p) {
    memset(p, 0, sizeof *p);
    p->confidence = 1;
    p->class_name = "";
    expect(r, '{');
    if (eat(r, '}')) return;
    do {
        const char *key = read_string(r);
        expect(r, ':');
        if (r->failed) return;
        if (key_is(key, "index")) p->index = (uint32_t)read_number(r);
        else if (key_is(key, "class")) p->class_name = read_string(r);
        else if (key_is(key, "confidence")) {
            p->confidence = read_number(r);
            p->has_confidence = true;
        } else if (key_is(key, "mask")) p->mask = read_string(r);
        else if (key_is(key, "bbox")) {
            p->has_bbox = true;
            expect(r, '{');
            if (!eat(r, '}')) {
                do {
                    const char *k = read_string(r);
                    expect(r, ':');
                    double v = read_number(r);
                    if (key_is(k, "x")) p->bbox.x = v;
                    else if (key_is(k, "y")) p->bbox.y = v;
                    else if (key_is(k, "width")) p->bbox.width = v;
                    else if (key_is(k, "height")) p->bbox.height = v;
                } while (!r->failed && eat(r, ','));
                expect(r, '}');
            }
        } else if (key_is(key, "json")) p->json = skip_value(r, &p->json_length);
        else skip_value(r, &(size_t){0});
    } while (!r->failed && eat(r, ','));
    expect(r, '}');
}

static void read_attachment(reader *r, weir_attachment *a) {
    memset(a, 0, sizeof *a);
    a->name = a->content_type = "";
    expect(r, '{');
    if (eat(r, '}')) return;
    do {
        const char *key = read_string(r);
        expect(r, ':');
        if (r->failed) return;
        if (key_is(key, "name")) a->name = read_string(r);
        else if (key_is(key, "content_type")) a->content_type = read_string(r);
        else if (key_is(key, "size")) a->size = (uint64_t)read_number(r);
        else skip_value(r, &(size_t){0});
    } while (!r->failed && eat(r, ','));
    expect(r, '}');
}

static bool read_event(const char *text, size_t length, weir_event *e) {
    reader r = {text, text + length, false, 0};
    memset(e, 0, sizeof *e);
    e->id = e->route = "";
    e->task = WEIR_TASK_OTHER;
    e->predictions = "null";
    e->predictions_length = 4;
    size_t cap;
    expect(&r, '{');
    if (eat(&r, '}')) return !r.failed;
    do {
        const char *key = read_string(&r);
        expect(&r, ':');
        if (r.failed) break;
        if (key_is(key, "id")) e->id = read_string(&r);
        else if (key_is(key, "route")) e->route = read_string(&r);
        else if (key_is(key, "task")) e->task = read_string(&r);
        else if (key_is(key, "predictions")) e->predictions = skip_value(&r, &e->predictions_length);
        else if (key_is(key, "metadata")) {
            weir_metadata *list = NULL;
            cap = 0;
            expect(&r, '{');
            if (!eat(&r, '}')) {
                do {
                    GROW(list, e->metadata_count, cap);
                    list[e->metadata_count].key = read_string(&r);
                    expect(&r, ':');
                    list[e->metadata_count++].value = read_string(&r);
                } while (!r.failed && eat(&r, ','));
                expect(&r, '}');
            }
            e->metadata = list;
        } else if (key_is(key, "prediction_list")) {
            weir_prediction *list = NULL;
            cap = 0;
            expect(&r, '[');
            if (!eat(&r, ']')) {
                do {
                    GROW(list, e->prediction_count, cap);
                    read_prediction(&r, &list[e->prediction_count++]);
                } while (!r.failed && eat(&r, ','));
                expect(&r, ']');
            }
            e->prediction_list = list;
        } else if (key_is(key, "attachments")) {
            weir_attachment *list = NULL;
            cap = 0;
            expect(&r, '[');
            if (!eat(&r, ']')) {
                do {
                    GROW(list, e->attachment_count, cap);
                    read_attachment(&r, &list[e->attachment_count++]);
                } while (!r.failed && eat(&r, ','));
                expect(&r, ']');
            }
            e->attachments = list;
        } else if (key_is(key, "destinations")) {
            const char **list = NULL;
            cap = 0;
            expect(&r, '[');
            if (!eat(&r, ']')) {
                do {
                    GROW(list, e->destination_count, cap);
                    list[e->destination_count++] = read_string(&r);
                } while (!r.failed && eat(&r, ','));
                expect(&r, ']');
            }
            e->destinations = list;
        } else {
            skip_value(&r, &(size_t){0});
        }
    } while (!r.failed && eat(&r, ','));
    expect(&r, '}');
    return !r.failed;
}

const char *weir_metadata_value(const weir_event *event, const char *key) {
    for (size_t i = 0; i < event->metadata_count; i++)
        if (strcmp(event->metadata[i].key, key) == 0) return event->metadata[i].value;
    return NULL;
}

/* ---- edits ---- */

const char *weir_refusal_kind(int code) {
    switch (code) {
    case WEIR_OK: return "ok";
    case WEIR_TOO_LARGE: return "too-large";
    case WEIR_NOT_A_NUMBER: return "not-a-number";
    case WEIR_OUT_OF_RANGE: return "out-of-range";
    case WEIR_NOT_UTF8: return "not-utf8";
    case WEIR_NO_SUCH_PREDICTION: return "no-such-prediction";
    case WEIR_NO_SUCH_ATTACHMENT: return "no-such-attachment";
    case WEIR_NO_SUCH_DESTINATION: return "no-such-destination";
    case WEIR_INVALID_JSON: return "invalid-json";
    default: return "refused";
    }
}

static void begin_edit(weir_event *e, const char *name) {
    buffer *b = &e->edits->json;
    if (b->length) buf_char(b, ',');
    buf_str(b, "{\"");
    buf_str(b, name);
    buf_str(b, "\":");
}

int weir_keep_predictions(weir_event *e, const uint32_t *indices, size_t count) {
    weir_edits *x = e->edits;
    if (x->count >= 0) {
        size_t distinct = 0;
        for (size_t i = 0; i < count; i++) {
            if (indices[i] >= (uint32_t)x->count) return WEIR_NO_SUCH_PREDICTION;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++) seen = indices[j] == indices[i];
            distinct += !seen;
        }
        x->count = (long)distinct;
    }
    begin_edit(e, "keep_predictions");
    buf_char(&x->json, '[');
    for (size_t i = 0; i < count; i++) {
        char n[16];
        buf_add(&x->json, n, (size_t)snprintf(n, sizeof n, i ? ",%u" : "%u", (unsigned)indices[i]));
    }
    buf_str(&x->json, "]}");
    return WEIR_OK;
}

int weir_set_predictions(weir_event *e, const char *json, size_t length) {
    if (!weir_json_parse(json, length)) return WEIR_INVALID_JSON;
    e->edits->count = -1;
    begin_edit(e, "set_predictions");
    buf_add(&e->edits->json, json, length);
    buf_char(&e->edits->json, '}');
    return WEIR_OK;
}

int weir_remove_attachment(weir_event *e, const char *name) {
    size_t i = 0;
    while (i < e->attachment_count && (e->edits->removed[i] || strcmp(e->attachments[i].name, name) != 0)) i++;
    if (i == e->attachment_count) return WEIR_NO_SUCH_ATTACHMENT;
    e->edits->removed[i] = true;
    begin_edit(e, "remove_attachment");
    buf_json_string(&e->edits->json, name);
    buf_char(&e->edits->json, '}');
    return WEIR_OK;
}

static bool utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0) return false;
        p++;
        while (n--)
            if ((*p++ & 0xc0) != 0x80) return false;
    }
    return true;
}

static void know_keys(weir_event *e) {
    weir_edits *x = e->edits;
    if (x->keys_known) return;
    x->keys = alloc((e->metadata_count + 65) * sizeof *x->keys);
    for (size_t i = 0; i < e->metadata_count; i++) x->keys[i] = e->metadata[i].key;
    x->key_count = e->metadata_count;
    x->keys_known = true;
}

/* Weir's limits on metadata, the ones senders meet too. */
#define MAX_METADATA_KEY 128
#define MAX_METADATA_VALUE 4096
#define MAX_METADATA_ENTRIES 64

int weir_set_metadata(weir_event *e, const char *key, const char *value) {
    if (!*key || strlen(key) > MAX_METADATA_KEY || strlen(value) > MAX_METADATA_VALUE) return WEIR_TOO_LARGE;
    if (!utf8_valid(key) || !utf8_valid(value)) return WEIR_NOT_UTF8;
    know_keys(e);
    weir_edits *x = e->edits;
    size_t i = 0;
    while (i < x->key_count && strcmp(x->keys[i], key) != 0) i++;
    if (i == x->key_count) {
        if (x->key_count + 1 > MAX_METADATA_ENTRIES) return WEIR_TOO_LARGE;
        x->keys[x->key_count++] = copy(key, strlen(key));
    }
    begin_edit(e, "set_metadata");
    buf_str(&x->json, "{\"key\":");
    buf_json_string(&x->json, key);
    buf_str(&x->json, ",\"value\":");
    buf_json_string(&x->json, value);
    buf_str(&x->json, "}}");
    return WEIR_OK;
}

int weir_remove_metadata(weir_event *e, const char *key) {
    know_keys(e);
    weir_edits *x = e->edits;
    for (size_t i = 0; i < x->key_count; i++)
        if (strcmp(x->keys[i], key) == 0) {
            x->keys[i] = x->keys[--x->key_count];
            break;
        }
    begin_edit(e, "remove_metadata");
    buf_json_string(&x->json, key);
    buf_char(&x->json, '}');
    return WEIR_OK;
}

int weir_narrow_destinations(weir_event *e, const char *const *names, size_t count) {
    weir_edits *x = e->edits;
    for (size_t n = 0; n < count; n++) {
        size_t i = 0;
        while (i < e->destination_count && (x->narrowed[i] || strcmp(e->destinations[i], names[n]) != 0)) i++;
        if (i == e->destination_count) return WEIR_NO_SUCH_DESTINATION;
    }
    for (size_t i = 0; i < e->destination_count; i++) {
        bool named = false;
        for (size_t n = 0; n < count && !named; n++) named = strcmp(e->destinations[i], names[n]) == 0;
        if (!named) x->narrowed[i] = true;
    }
    begin_edit(e, "narrow_destinations");
    buf_char(&x->json, '[');
    for (size_t n = 0; n < count; n++) {
        if (n) buf_char(&x->json, ',');
        buf_json_string(&x->json, names[n]);
    }
    buf_str(&x->json, "]}");
    return WEIR_OK;
}

/* ---- verdicts ---- */

weir_verdict weir_keep(void) { return (weir_verdict){WEIR_KEEP, NULL, false}; }

weir_verdict weir_drop(const char *format, ...) {
    va_list args;
    va_start(args, format);
    weir_verdict v = {WEIR_DROP, vformat(format, args), false};
    va_end(args);
    return v;
}

weir_verdict weir_error(bool retryable, const char *format, ...) {
    va_list args;
    va_start(args, format);
    weir_verdict v = {WEIR_ERROR, vformat(format, args), retryable};
    va_end(args);
    return v;
}

/* ---- host services ---- */

__attribute__((import_module("weir"), import_name("log")))
extern void weir__log(int32_t level, const char *ptr, int32_t len);
__attribute__((import_module("weir"), import_name("attachment")))
extern int64_t weir__attachment(const char *name, int32_t name_len, uint8_t *buf, int32_t buf_len);
__attribute__((import_module("weir"), import_name("state_get")))
extern int64_t weir__state_get(const char *key, int32_t key_len, uint8_t *buf, int32_t buf_len);
__attribute__((import_module("weir"), import_name("state_set")))
extern int64_t weir__state_set(const char *key, int32_t key_len, const void *value, int32_t value_len, int64_t ttl_ms);
__attribute__((import_module("weir"), import_name("state_compare_and_set")))
extern int64_t weir__state_cas(const char *key, int32_t key_len, const void *expected, int32_t expected_len,
                               const void *value, int32_t value_len, int64_t ttl_ms);
__attribute__((import_module("weir"), import_name("state_increment")))
extern int64_t weir__state_increment(const char *key, int32_t key_len, int64_t delta, int64_t ttl_ms, int64_t *out);
__attribute__((import_module("weir"), import_name("state_delete")))
extern int64_t weir__state_delete(const char *key, int32_t key_len);

void weir_log(int level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *message = vformat(format, args);
    va_end(args);
    weir__log(level, message, (int32_t)strlen(message));
}

const uint8_t *weir_attachment_bytes(const char *name, size_t *size) {
    int64_t n = weir__attachment(name, (int32_t)strlen(name), NULL, 0);
    if (n < 0) return NULL;
    uint8_t *data = alloc((size_t)n + 1);
    if (n) weir__attachment(name, (int32_t)strlen(name), data, (int32_t)n);
    data[n] = 0;
    if (size) *size = (size_t)n;
    return data;
}

const uint8_t *weir_state_get(const char *key, size_t *length) {
    int32_t key_len = (int32_t)strlen(key);
    int64_t n = weir__state_get(key, key_len, NULL, 0);
    for (;;) {
        if (n < 0) return NULL;
        uint8_t *value = alloc((size_t)n + 1);
        int64_t again = weir__state_get(key, key_len, value, (int32_t)n);
        if (again <= n && again >= 0) {
            value[again] = 0;
            if (length) *length = (size_t)again;
            return value;
        }
        n = again; /* changed in between: read again */
    }
}

static int state_code(int64_t code) { return code < 0 ? (int)code : WEIR_OK; }

int weir_state_set(const char *key, const void *value, size_t length, int64_t ttl_ms) {
    return state_code(weir__state_set(key, (int32_t)strlen(key), value, (int32_t)length, ttl_ms < 0 ? -1 : ttl_ms));
}

int weir_state_compare_and_set(const char *key, const void *expected, size_t expected_length, const void *value,
                               size_t value_length, int64_t ttl_ms, bool *set) {
    int64_t code = weir__state_cas(key, (int32_t)strlen(key), expected, expected ? (int32_t)expected_length : -1, value,
                                   value ? (int32_t)value_length : -1, ttl_ms < 0 ? -1 : ttl_ms);
    if (set) *set = code == 1;
    return state_code(code);
}

int weir_state_claim(const char *key, int64_t ttl_ms, bool *claimed) {
    return weir_state_compare_and_set(key, NULL, 0, "1", 1, ttl_ms, claimed);
}

int weir_state_increment(const char *key, int64_t delta, int64_t ttl_ms, int64_t *sum) {
    int64_t out = 0;
    int64_t code = weir__state_increment(key, (int32_t)strlen(key), delta, ttl_ms < 0 ? -1 : ttl_ms, &out);
    if (code == 0 && sum) *sum = out;
    return state_code(code);
}

bool weir_state_delete(const char *key) { return weir__state_delete(key, (int32_t)strlen(key)) == 1; }

/* ---- the exports ---- */

__attribute__((weak)) const char *weir_on_init(const weir_json *config) {
    (void)config;
    return NULL;
}

static char *input;         /* the buffer the host writes into */
static buffer output;       /* the last result, alive until the next call */
static weir_edits edits;

static int64_t packed(const char *data, size_t length) {
    return (int64_t)((uint64_t)(uintptr_t)data << 32 | (uint32_t)length);
}

/* Starts a call: what the previous one left is freed. */
static void start_call(void) {
    arena_reset(&call_arena);
    output.length = 0;
    free(edits.json.data);
    memset(&edits, 0, sizeof edits);
}

__attribute__((export_name("weir_abi_version"))) int32_t weir__abi_version(void) { return WEIR_ABI_VERSION; }

__attribute__((export_name("weir_alloc"))) char *weir__alloc(int32_t length) {
    start_call();
    free(input);
    input = malloc((size_t)length + 1);
    return input;
}

__attribute__((export_name("weir_init"))) int64_t weir__init(const char *ptr, int32_t length) {
    current = &instance_arena;
    const weir_json *config = weir_json_parse(ptr, (size_t)length);
    const char *refusal = config ? weir_on_init(config) : "invalid config: it is not JSON";
    current = &call_arena;
    if (ptr == input) input = NULL; /* the config's text stays with it */
    if (!refusal) return 0;
    output.length = 0;
    buf_str(&output, *refusal ? refusal : "the filter refused its config");
    return packed(output.data, output.length);
}

__attribute__((export_name("weir_filter"))) int64_t weir__filter(const char *ptr, int32_t length) {
    weir_event event;
    weir_verdict v;
    if (!read_event(ptr, (size_t)length, &event)) {
        v = weir_error(false, "the SDK could not read the event Weir wrote");
    } else {
        edits.count = (long)event.prediction_count;
        edits.removed = alloc(event.attachment_count + 1);
        memset(edits.removed, 0, event.attachment_count + 1);
        edits.narrowed = alloc(event.destination_count + 1);
        memset(edits.narrowed, 0, event.destination_count + 1);
        event.edits = &edits;
        v = weir_on_event(&event);
    }
    output.length = 0;
    switch (v.kind) {
    case WEIR_KEEP:
        buf_str(&output, "{\"verdict\":\"keep\"");
        if (edits.json.length) {
            buf_str(&output, ",\"edits\":[");
            buf_add(&output, edits.json.data, edits.json.length);
            buf_char(&output, ']');
        }
        buf_char(&output, '}');
        break;
    case WEIR_DROP:
        buf_str(&output, "{\"verdict\":\"drop\",\"reason\":");
        buf_json_string(&output, v.text ? v.text : "");
        buf_char(&output, '}');
        break;
    default:
        buf_str(&output, "{\"verdict\":\"error\",\"message\":");
        buf_json_string(&output, v.text ? v.text : "");
        buf_str(&output, v.retryable ? ",\"retryable\":true}" : ",\"retryable\":false}");
    }
    return packed(output.data, output.length);
}
