// {{name}}: a Weir filter in Go. Keeps the predictions at or above min_confidence and
// drops the event when none is left.
package main

import "weir"

// Config is the filter's config, from the route ({"min_confidence": 0.8}); unknown
// keys are refused.
type Config struct {
	MinConfidence float64 `json:"min_confidence"`
}

func init() {
	weir.Register(Config{MinConfidence: 0.5}, func(c Config) (weir.Handler, error) {
		weir.Logf(weir.Info, "keeping predictions at confidence >= %s", weir.FormatNumber(c.MinConfidence))
		return func(e *weir.Event) (weir.Verdict, error) {
			var keep []uint32
			for _, p := range e.PredictionList {
				if p.Confidence == nil || *p.Confidence >= c.MinConfidence {
					keep = append(keep, p.Index)
				}
			}
			if len(keep) == 0 {
				return weir.Dropf("nothing at confidence >= %s", weir.FormatNumber(c.MinConfidence)), nil
			}
			if len(keep) < len(e.PredictionList) {
				if err := e.KeepPredictions(keep...); err != nil {
					return weir.Keep, err
				}
			}
			return weir.Keep, nil
		}, nil
	})
}

func main() {}
