// class-filter: keeps only the predictions of the configured classes at or above a
// minimum confidence, and drops the event when none is left; the masks of removed
// predictions go too. The C++ twin of plugins/rust/class-filter: same config, same
// output, byte for byte. Built with the C++ SDK (plugin-sdk/cpp/weir.hpp over plugin-sdk/c).
#include <algorithm>

#include "weir.hpp"

class ClassFilter {
  public:
    static weir::Result<ClassFilter> create(const weir::Json &config) {
        ClassFilter f;
        weir::ConfigReader read(config, {"classes", "min_confidence", "remove_orphaned_masks"});
        read("classes", f.classes_)("min_confidence", f.min_confidence_)("remove_orphaned_masks", f.remove_orphaned_masks_);
        if (read.failed()) return weir::Refuse(read.error());
        if (!(f.min_confidence_ >= 0 && f.min_confidence_ <= 1))
            return weir::Refuse("min_confidence must be between 0 and 1, got " + weir::number(f.min_confidence_));
        return f;
    }

    weir::Verdict filter(weir::Event &event) {
        // Weir lists the predictions: no JSON here, and Weir edits the document from
        // the indices kept.
        const auto &items = event.prediction_list();
        std::vector<uint32_t> keep;
        std::vector<std::string> kept_masks;
        for (const auto &p : items)
            if (keeps(p)) {
                keep.push_back(p.index);
                if (p.mask) kept_masks.push_back(*p.mask);
            }
        if (keep.empty()) return weir::Verdict::drop(nothing_left());
        if (keep.size() == items.size()) return weir::Verdict::keep();
        // Masks referred to only by removed predictions, and present on the event.
        std::vector<std::string> orphaned;
        if (remove_orphaned_masks_) {
            for (const auto &p : items) {
                if (!p.mask || contains(keep, p.index)) continue;
                const std::string &mask = *p.mask;
                bool present = std::any_of(event.attachments().begin(), event.attachments().end(),
                                           [&](const weir::Attachment &a) { return a.name == mask; });
                if (present && !contains(kept_masks, mask) && !contains(orphaned, mask)) orphaned.push_back(mask);
            }
        }
        if (auto s = event.keep_predictions(keep); !s.ok()) return weir::Verdict::error(std::string(s.kind()));
        for (const auto &mask : orphaned)
            if (auto s = event.remove_attachment(mask); !s.ok()) return weir::Verdict::error(std::string(s.kind()));
        return weir::Verdict::keep();
    }

  private:
    template <typename T, typename V>
    static bool contains(const std::vector<T> &list, const V &value) {
        return std::find(list.begin(), list.end(), value) != list.end();
    }

    bool keeps(const weir::Prediction &p) const {
        return (classes_.empty() || contains(classes_, p.class_name)) &&
               (!p.confidence || *p.confidence >= min_confidence_);
    }

    std::string nothing_left() const {
        std::string classes;
        for (const auto &c : classes_) classes += (classes.empty() ? "" : ", ") + c;
        return "no prediction of " + (classes_.empty() ? std::string("any class") : classes) +
               " at confidence >= " + weir::number(min_confidence_);
    }

    std::vector<std::string> classes_;
    double min_confidence_ = 0;
    bool remove_orphaned_masks_ = true;
};

WEIR_FILTER(ClassFilter)
