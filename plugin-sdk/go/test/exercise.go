// The SDK's exercise: every edit, the local refusals, the state store, attachment
// bytes, the log and a retryable error, checked by check.sh.
package main

import (
	"errors"
	"strconv"
	"strings"

	"weir"
)

func kind(err error) string {
	var r *weir.Refusal
	if errors.As(err, &r) {
		return r.Kind
	}
	return "accepted"
}

func init() {
	weir.Handle(func(e *weir.Event) (weir.Verdict, error) {
		if _, fail := e.MetadataValue("fail"); fail {
			return weir.Keep, weir.Retryable(errors.New("asked to fail"))
		}
		refusals := []string{
			kind(e.KeepPredictions(99)),
			kind(e.RemoveAttachment("nope")),
			kind(e.NarrowDestinations("zzz")),
			kind(e.SetPredictions([]byte("{nope"))),
		}
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		must(weir.State.Set("k", []byte("v"), weir.NoExpiry))
		got, _ := weir.State.Get("k")
		n, err := weir.State.Increment("n", 5, weir.NoExpiry)
		must(err)
		swapped, err := weir.State.CompareAndSet("k", []byte("v"), []byte("w"), weir.NoExpiry)
		must(err)
		deleted := weir.State.Delete("k")
		_, present := weir.State.Get("k")
		absent := "absent"
		if present {
			absent = "present"
		}
		image, _ := e.AttachmentBytes("image.jpeg")
		must(e.SetMetadata("r", strings.Join(refusals, ",")))
		must(e.SetMetadata("s", string(got)+","+strconv.FormatInt(n, 10)+","+strconv.FormatBool(swapped)+","+strconv.FormatBool(deleted)+","+absent))
		must(e.SetMetadata("img", strconv.Itoa(len(image))))
		must(e.SetMetadata("task", e.Task))
		must(e.RemoveMetadata("camera"))
		must(e.NarrowDestinations("y"))
		must(e.SetPredictions([]byte(`{"predictions":[{"class":"a"},{"class":"b"}]}`)))
		must(e.KeepPredictions(1))
		must(e.RemoveAttachment("image.jpeg"))
		weir.Logf(weir.Info, "exercised %d predictions", len(e.PredictionList))
		return weir.Keep, nil
	})
}

func main() {}
