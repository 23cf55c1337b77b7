// {{name}}: a Weir filter in C++. Keeps the predictions at or above min_confidence and
// drops the event when none is left. The SDK is weir-sdk/weir.hpp (its README tells
// the whole API).
#include "weir.hpp"

class Filter {
  public:
    // The config from the route: {"min_confidence": 0.8}. Refuse it with weir::Refuse.
    static weir::Result<Filter> create(const weir::Json &config) {
        Filter f;
        weir::ConfigReader read(config, {"min_confidence"});
        read("min_confidence", f.min_confidence_);
        if (read.failed()) return weir::Refuse(read.error());
        weir::log(weir::Level::info, "keeping predictions at confidence >= " + weir::number(f.min_confidence_));
        return f;
    }

    weir::Verdict filter(weir::Event &event) {
        std::vector<uint32_t> keep;
        for (const auto &p : event.prediction_list())
            if (p.confidence.value_or(1) >= min_confidence_) keep.push_back(p.index);
        if (keep.empty()) return weir::Verdict::drop("nothing at confidence >= " + weir::number(min_confidence_));
        if (keep.size() < event.prediction_list().size())
            if (auto status = event.keep_predictions(keep); !status.ok())
                return weir::Verdict::error("keep_predictions refused: " + std::string(status.kind()));
        return weir::Verdict::keep();
    }

  private:
    double min_confidence_ = 0.5;
};

WEIR_FILTER(Filter)
