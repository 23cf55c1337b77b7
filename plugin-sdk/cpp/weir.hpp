// weir.hpp: write Weir filters in C++, as WebAssembly core modules of contract 0.2
// (wit/core-module.md). A header-only wrapper over the C SDK (weir.h, weir.c, which
// owns the module's exports and the JSON), with std::string, std::vector and
// std::optional. C++20, built without exceptions. A filter is a class:
//
//     #include "weir.hpp"
//
//     struct OnlyPeople {
//         double min_confidence = 0.5;
//
//         // Optional: builds the filter from its config, or refuses the config.
//         static weir::Result<OnlyPeople> create(const weir::Json &config) {
//             OnlyPeople f;
//             weir::ConfigReader read(config, {"min_confidence"});
//             read("min_confidence", f.min_confidence);
//             if (read.failed()) return weir::Refuse(read.error());
//             return f;
//         }
//
//         weir::Verdict filter(weir::Event &event) {
//             for (const auto &p : event.prediction_list())
//                 if (p.class_name == "person" && p.confidence.value_or(1) >= min_confidence)
//                     return weir::Verdict::keep();
//             return weir::Verdict::drop("no person");
//         }
//     };
//
//     WEIR_FILTER(OnlyPeople)
//
// Build (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32
// libc++abi-14-dev-wasm32):
//
//     clang -c --target=wasm32-wasi -O2 -o weir.o weir.c
//     clang++ --target=wasm32-wasi -mexec-model=reactor -std=c++20 -O2 -fno-exceptions \
//         -Wl,--strip-all -o filter.wasm filter.cpp weir.o
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weir.h"

namespace weir {

// ---- JSON values (the config; a prediction's own JSON with Json::parse) ----

class Json {
  public:
    Json() = default;
    explicit Json(const weir_json *v) : v_(v) {}
    // Parses JSON text; an absent value (!json) when it is not JSON. What it makes
    // lives until the call returns (during create: for good).
    static Json parse(std::string_view text) { return Json(weir_json_parse(text.data(), text.size())); }

    explicit operator bool() const { return v_ != nullptr; }
    weir_json_type type() const { return v_ ? v_->type : WEIR_JSON_NULL; }
    bool is_null() const { return !v_ || v_->type == WEIR_JSON_NULL; }
    bool is_bool() const { return v_ && v_->type == WEIR_JSON_BOOL; }
    bool is_number() const { return v_ && v_->type == WEIR_JSON_NUMBER; }
    bool is_string() const { return v_ && v_->type == WEIR_JSON_STRING; }
    bool is_array() const { return v_ && v_->type == WEIR_JSON_ARRAY; }
    bool is_object() const { return v_ && v_->type == WEIR_JSON_OBJECT; }
    bool boolean() const { return is_bool() && v_->boolean; }
    double number() const { return is_number() ? v_->number : 0; }
    std::string_view string() const { return is_string() ? std::string_view(v_->string) : std::string_view(); }
    // The member `key` of an object (absent: !json).
    Json operator[](const char *key) const { return Json(weir_json_get(v_, key)); }
    // Item `index` of an array.
    Json operator[](size_t index) const { return Json(weir_json_at(v_, index)); }
    size_t size() const { return v_ ? v_->count : 0; }
    // An object member's key.
    std::string_view key() const { return v_ && v_->key ? std::string_view(v_->key) : std::string_view(); }
    // The value's JSON text.
    std::string_view raw() const { return v_ ? std::string_view(v_->raw, v_->raw_length) : std::string_view(); }
    // The items of an array or the members of an object.
    std::vector<Json> items() const {
        std::vector<Json> out;
        for (const weir_json *i = v_ ? v_->first : nullptr; i; i = i->next) out.emplace_back(i);
        return out;
    }
    const weir_json *c() const { return v_; }

  private:
    const weir_json *v_ = nullptr;
};

// Reads a config object into C++ values, keeping the first problem: an unknown key, or
// a value of the wrong type. Absent keys leave the value as it was (the default).
class ConfigReader {
  public:
    ConfigReader(const Json &config, std::initializer_list<const char *> known) : config_(config) {
        std::vector<const char *> keys(known);
        keys.push_back(nullptr);
        note(weir_config_keys(config.c(), keys.data()));
    }
    ConfigReader &operator()(const char *key, double &out) { return note(weir_config_number(config_.c(), key, &out)); }
    ConfigReader &operator()(const char *key, bool &out) { return note(weir_config_bool(config_.c(), key, &out)); }
    ConfigReader &operator()(const char *key, std::string &out) {
        const char *s = nullptr;
        note(weir_config_string(config_.c(), key, &s));
        if (s) out = s;
        return *this;
    }
    ConfigReader &operator()(const char *key, std::vector<std::string> &out) {
        const char *const *list = nullptr;
        size_t n = 0;
        note(weir_config_strings(config_.c(), key, &list, &n));
        if (list) out.assign(list, list + n);
        return *this;
    }
    bool failed() const { return !error_.empty(); }
    const std::string &error() const { return error_; }

  private:
    ConfigReader &note(const char *error) {
        if (error && error_.empty()) error_ = error;
        return *this;
    }
    Json config_;
    std::string error_;
};

// ---- results ----

// A refused config.
struct Refuse {
    std::string message;
    explicit Refuse(std::string m) : message(std::move(m)) {}
};

// A value, or why there is none.
template <typename T>
class Result {
  public:
    Result(T value) : value_(std::move(value)) {}
    Result(Refuse refusal) : error_(std::move(refusal.message)) {
        if (error_.empty()) error_ = "refused";
    }
    explicit operator bool() const { return value_.has_value(); }
    T &operator*() { return *value_; }
    T *operator->() { return &*value_; }
    const std::string &error() const { return error_; }

  private:
    std::optional<T> value_;
    std::string error_;
};

// The outcome of an edit or a state operation: ok, or refused with a kind.
class [[nodiscard]] Status {
  public:
    explicit Status(int code = WEIR_OK) : code_(code) {}
    bool ok() const { return code_ == WEIR_OK; }
    int code() const { return code_; }
    // The refusal's kind as the contract names it ("no-such-prediction"...).
    std::string_view kind() const { return weir_refusal_kind(code_); }

  private:
    int code_;
};

// ---- the event ----

struct BBox {
    double x, y, width, height;
};

struct Prediction {
    uint32_t index;                  // what keep_predictions takes
    std::string class_name;          // `class` or `label`
    std::optional<double> confidence;
    std::optional<std::string> mask; // the mask file it refers to
    std::optional<BBox> bbox;
    std::string_view json;           // the prediction as it stands in the document
};

struct Attachment {
    std::string name, content_type;
    uint64_t size;
};

// One event, as it came in: edits are recorded, checked against the event as the
// edits before them leave it, and applied by Weir in order when the filter keeps the
// event; they do not change what the accessors return.
class Event {
  public:
    explicit Event(weir_event *e) : e_(e) {
        predictions_.reserve(e->prediction_count);
        for (size_t i = 0; i < e->prediction_count; i++) {
            const weir_prediction &p = e->prediction_list[i];
            Prediction out{p.index, p.class_name, std::nullopt, std::nullopt, std::nullopt,
                           std::string_view(p.json ? p.json : "", p.json_length)};
            if (p.has_confidence) out.confidence = p.confidence;
            if (p.mask) out.mask = std::string(p.mask);
            if (p.has_bbox) out.bbox = BBox{p.bbox.x, p.bbox.y, p.bbox.width, p.bbox.height};
            predictions_.push_back(std::move(out));
        }
        for (size_t i = 0; i < e->attachment_count; i++)
            attachments_.push_back({e->attachments[i].name, e->attachments[i].content_type, e->attachments[i].size});
    }

    std::string_view id() const { return e_->id; }
    std::string_view route() const { return e_->route; }
    // The model's task: "object-detection"... or any name a sender gives.
    std::string_view task() const { return e_->task; }
    std::vector<std::pair<std::string_view, std::string_view>> metadata() const {
        std::vector<std::pair<std::string_view, std::string_view>> out;
        for (size_t i = 0; i < e_->metadata_count; i++) out.emplace_back(e_->metadata[i].key, e_->metadata[i].value);
        return out;
    }
    std::optional<std::string_view> metadata_value(const std::string &key) const {
        const char *v = weir_metadata_value(e_, key.c_str());
        return v ? std::optional<std::string_view>(v) : std::nullopt;
    }
    // The predictions document's JSON text.
    std::string_view predictions() const { return {e_->predictions, e_->predictions_length}; }
    // The predictions as Weir read them: most filters need nothing else.
    const std::vector<Prediction> &prediction_list() const { return predictions_; }
    const std::vector<Attachment> &attachments() const { return attachments_; }
    std::optional<std::vector<uint8_t>> attachment_bytes(const std::string &name) const {
        size_t size = 0;
        const uint8_t *data = weir_attachment_bytes(name.c_str(), &size);
        if (!data) return std::nullopt;
        return std::vector<uint8_t>(data, data + size);
    }
    std::vector<std::string_view> destinations() const {
        return std::vector<std::string_view>(e_->destinations, e_->destinations + e_->destination_count);
    }

    Status keep_predictions(const std::vector<uint32_t> &indices) {
        return Status(weir_keep_predictions(e_, indices.data(), indices.size()));
    }
    Status set_predictions(std::string_view json) { return Status(weir_set_predictions(e_, json.data(), json.size())); }
    Status remove_attachment(const std::string &name) { return Status(weir_remove_attachment(e_, name.c_str())); }
    Status set_metadata(const std::string &key, const std::string &value) {
        return Status(weir_set_metadata(e_, key.c_str(), value.c_str()));
    }
    Status remove_metadata(const std::string &key) { return Status(weir_remove_metadata(e_, key.c_str())); }
    Status narrow_destinations(const std::vector<std::string> &names) {
        std::vector<const char *> c;
        for (const auto &n : names) c.push_back(n.c_str());
        return Status(weir_narrow_destinations(e_, c.data(), c.size()));
    }

  private:
    weir_event *e_;
    std::vector<Prediction> predictions_;
    std::vector<Attachment> attachments_;
};

// ---- verdicts ----

class Verdict {
  public:
    // Passes the event on, with its edits.
    static Verdict keep() { return Verdict(WEIR_KEEP, {}, false); }
    // Stops the event; the reason is counted and logged.
    static Verdict drop(std::string reason) { return Verdict(WEIR_DROP, std::move(reason), false); }
    // Cannot process the event: the route's failure policy decides; a retryable error
    // makes Weir answer the sender 503 with Retry-After.
    static Verdict error(std::string message, bool retryable = false) {
        return Verdict(WEIR_ERROR, std::move(message), retryable);
    }
    weir_verdict c() const { return {kind_, weir_printf("%s", text_.c_str()), retryable_}; }

  private:
    Verdict(weir_verdict_kind kind, std::string text, bool retryable)
        : kind_(kind), text_(std::move(text)), retryable_(retryable) {}
    weir_verdict_kind kind_;
    std::string text_;
    bool retryable_;
};

// A number as Rust (and so Weir's Rust filters) prints it: 0.5, 1, 0.0000001.
inline std::string number(double value) { return weir_number(value); }

// ---- host services ----

enum class Level { trace, debug, info, warn, error };

// Writes a message to Weir's log, tagged with the plugin's name.
inline void log(Level level, const std::string &message) { weir_log(int(level), "%s", message.c_str()); }

// The filter's state store: one per filter of a route, shared by all its instances,
// kept across hot reloads (and restarts with state = "durable"). A ttl of nullopt
// keeps an entry until it is deleted.
namespace state {
using Ttl = std::optional<std::chrono::milliseconds>;
inline int64_t ms(Ttl ttl) { return ttl ? int64_t(ttl->count()) : WEIR_NO_EXPIRY; }

inline std::optional<std::string> get(const std::string &key) {
    size_t n = 0;
    const uint8_t *v = weir_state_get(key.c_str(), &n);
    return v ? std::optional<std::string>(std::string(reinterpret_cast<const char *>(v), n)) : std::nullopt;
}
inline Status set(const std::string &key, std::string_view value, Ttl ttl) {
    return Status(weir_state_set(key.c_str(), value.data(), value.size(), ms(ttl)));
}
// Sets the key to value (nullopt: deletes it) only if its value is expected (nullopt:
// absent or expired); the result tells whether it was set.
inline Result<bool> compare_and_set(const std::string &key, std::optional<std::string_view> expected,
                                    std::optional<std::string_view> value, Ttl ttl) {
    bool set = false;
    int code = weir_state_compare_and_set(key.c_str(), expected ? expected->data() : nullptr,
                                          expected ? expected->size() : 0, value ? value->data() : nullptr,
                                          value ? value->size() : 0, ms(ttl), &set);
    if (code) return Refuse(weir_refusal_kind(code));
    return set;
}
// Sets the key if it is absent: true for exactly one caller until it expires.
inline Result<bool> claim(const std::string &key, Ttl ttl) { return compare_and_set(key, std::nullopt, "1", ttl); }
inline Result<int64_t> increment(const std::string &key, int64_t delta, Ttl ttl) {
    int64_t sum = 0;
    int code = weir_state_increment(key.c_str(), delta, ms(ttl), &sum);
    if (code) return Refuse(weir_refusal_kind(code));
    return sum;
}
// Deletes a key; true when a live entry was there.
inline bool remove(const std::string &key) { return weir_state_delete(key.c_str()); }
}  // namespace state

namespace detail {
template <typename T>
Result<T> create(const Json &config) {
    if constexpr (requires { T::create(config); }) {
        return T::create(config);
    } else {
        return T{};
    }
}
}  // namespace detail

}  // namespace weir

// Makes the class T the module's filter: T::create(const weir::Json &) (or, without
// it, T's default constructor) builds it once per instance; T::filter(weir::Event &)
// decides on each event.
#define WEIR_FILTER(T)                                                                                  \
    static std::optional<T> weir_filter_instance_;                                                      \
    extern "C" const char *weir_on_init(const weir_json *config) {                                      \
        auto made = weir::detail::create<T>(weir::Json(config));                                        \
        if (!made) return weir_printf("%s", made.error().c_str());                                      \
        weir_filter_instance_.emplace(std::move(*made));                                                \
        return nullptr;                                                                                 \
    }                                                                                                   \
    extern "C" weir_verdict weir_on_event(weir_event *event) {                                          \
        if (!weir_filter_instance_) return weir_error(false, "the filter was not initialised");         \
        weir::Event wrapped(event);                                                                     \
        return weir_filter_instance_->filter(wrapped).c();                                              \
    }
