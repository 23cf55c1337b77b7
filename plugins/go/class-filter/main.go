// class-filter: keeps only the predictions of the configured classes at or above a
// minimum confidence, and drops the event when none is left; the masks of removed
// predictions go too. The Go twin of plugins/rust/class-filter: same config, same
// output, byte for byte.
package main

import (
	"fmt"
	"slices"
	"strings"

	"weir"
)

// Config is the filter's config; unknown keys are refused.
type Config struct {
	// Classes to keep; empty keeps every class.
	Classes []string `json:"classes"`
	// MinConfidence is the lowest confidence kept, 0 to 1. Predictions without a
	// confidence are judged on their class alone.
	MinConfidence float64 `json:"min_confidence"`
	// RemoveOrphanedMasks also removes the mask attachments of removed predictions.
	RemoveOrphanedMasks bool `json:"remove_orphaned_masks"`
}

type classFilter struct{ Config }

func init() {
	weir.Register(Config{RemoveOrphanedMasks: true}, func(c Config) (weir.Handler, error) {
		if !(c.MinConfidence >= 0 && c.MinConfidence <= 1) {
			return nil, fmt.Errorf("min_confidence must be between 0 and 1, got %s", weir.FormatNumber(c.MinConfidence))
		}
		return (&classFilter{c}).filter, nil
	})
}

func (f *classFilter) keeps(p weir.Prediction) bool {
	return (len(f.Classes) == 0 || slices.Contains(f.Classes, p.Class)) &&
		(p.Confidence == nil || *p.Confidence >= f.MinConfidence)
}

func (f *classFilter) filter(e *weir.Event) (weir.Verdict, error) {
	// Weir lists the predictions: no JSON here, and Weir edits the document from the
	// indices kept.
	var keep []uint32
	var keptMasks []string
	for _, p := range e.PredictionList {
		if f.keeps(p) {
			keep = append(keep, p.Index)
			if p.Mask != nil {
				keptMasks = append(keptMasks, *p.Mask)
			}
		}
	}
	if len(keep) == 0 {
		classes := "any class"
		if len(f.Classes) > 0 {
			classes = strings.Join(f.Classes, ", ")
		}
		return weir.Dropf("no prediction of %s at confidence >= %s", classes, weir.FormatNumber(f.MinConfidence)), nil
	}
	if len(keep) == len(e.PredictionList) {
		return weir.Keep, nil
	}
	// Masks referred to only by removed predictions, and present on the event.
	var orphaned []string
	if f.RemoveOrphanedMasks {
		for _, p := range e.PredictionList {
			if p.Mask == nil || slices.Contains(keep, p.Index) {
				continue
			}
			mask := *p.Mask
			present := slices.ContainsFunc(e.Attachments, func(a weir.Attachment) bool { return a.Name == mask })
			if present && !slices.Contains(keptMasks, mask) && !slices.Contains(orphaned, mask) {
				orphaned = append(orphaned, mask)
			}
		}
	}
	if err := e.KeepPredictions(keep...); err != nil {
		return weir.Keep, err
	}
	for _, mask := range orphaned {
		if err := e.RemoveAttachment(mask); err != nil {
			return weir.Keep, err
		}
	}
	return weir.Keep, nil
}

func main() {}
