// The SDK's exercise: every edit, the local refusals, the state store, attachment
// bytes, the log and a retryable error, checked by check.sh.
#include "weir.hpp"

struct Exercise {
    weir::Verdict filter(weir::Event &e) {
        if (e.metadata_value("fail")) return weir::Verdict::error("asked to fail", true);
        std::string refusals = std::string(e.keep_predictions({99}).kind()) + "," +
                               std::string(e.remove_attachment("nope").kind()) + "," +
                               std::string(e.narrow_destinations({"zzz"}).kind()) + "," +
                               std::string(e.set_predictions("{nope").kind());
        int failures = 0;
        auto must = [&](weir::Status s) { failures += !s.ok(); };
        must(weir::state::set("k", "v", std::nullopt));
        std::string got = weir::state::get("k").value_or("");
        auto n = weir::state::increment("n", 5, std::nullopt);
        auto swapped = weir::state::compare_and_set("k", "v", "w", std::nullopt);
        bool deleted = weir::state::remove("k");
        std::string absent = weir::state::get("k") ? "present" : "absent";
        auto image = e.attachment_bytes("image.jpeg");
        must(e.set_metadata("r", refusals));
        must(e.set_metadata("s", got + "," + std::to_string(n ? *n : -1) + "," + (swapped && *swapped ? "true" : "false") +
                                     "," + (deleted ? "true" : "false") + "," + absent));
        must(e.set_metadata("img", std::to_string(image ? image->size() : 0)));
        must(e.set_metadata("task", std::string(e.task())));
        must(e.remove_metadata("camera"));
        must(e.narrow_destinations({"y"}));
        must(e.set_predictions(R"({"predictions":[{"class":"a"},{"class":"b"}]})"));
        must(e.keep_predictions({1}));
        must(e.remove_attachment("image.jpeg"));
        weir::log(weir::Level::info, "exercised " + std::to_string(e.prediction_list().size()) + " predictions");
        return failures ? weir::Verdict::error(std::to_string(failures) + " calls failed") : weir::Verdict::keep();
    }
};

WEIR_FILTER(Exercise)
