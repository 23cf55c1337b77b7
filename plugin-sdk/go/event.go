package weir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Event is one prediction event, as Weir wrote it for this call (wit/core-module.md).
//
// Its fields are the event as it came in: edits are recorded, checked against the
// event as the edits before them leave it, and applied by Weir, in order, when the
// filter returns Keep. They do not change the fields (after KeepPredictions,
// PredictionList still lists every prediction, with the indices it came with).
type Event struct {
	// ID is the event id: the sender's Idempotency-Key or webhook-id, or one Weir gave.
	ID string `json:"id"`
	// Route is the name of the route the event came in on.
	Route string `json:"route"`
	// Task is the model's task, an open vocabulary: see the Task constants.
	Task string `json:"task"`
	// Metadata lists the event's metadata entries, in order, keys unique.
	Metadata []MetadataEntry `json:"metadata"`
	// Predictions is the predictions document, as the sender posted it (or as an earlier
	// filter left it).
	Predictions json.RawMessage `json:"predictions"`
	// PredictionList is the predictions as Weir read them from the document, in
	// document order: what KeepPredictions indexes. Most filters need nothing else.
	PredictionList []Prediction `json:"prediction_list"`
	// Attachments describes the files that travel with the event (not their bytes: see
	// AttachmentBytes).
	Attachments []Attachment `json:"attachments"`
	// Destinations names the destinations the event is bound for.
	Destinations []string `json:"destinations"`

	edits bytes.Buffer
	count int // predictions listed after the edits so far; -1 once unknown
	// What the edits so far left, for the checks; nil until the first edit of its kind.
	attachments  []string
	destinations []string
	metadata     []string
}

// Well-known tasks (Event.Task is open: a sender may name others).
const (
	ObjectDetection          = "object-detection"
	Classification           = "classification"
	MultilabelClassification = "multilabel-classification"
	InstanceSegmentation     = "instance-segmentation"
	SemanticSegmentation     = "semantic-segmentation"
	OtherTask                = "other"
)

// MetadataEntry is one metadata key and its value.
type MetadataEntry struct {
	Key, Value string
}

// Prediction is one prediction, as Weir read it from the document.
type Prediction struct {
	// Index is its place in Event.PredictionList: what KeepPredictions takes.
	Index uint32 `json:"index"`
	// Class is the class label (`class` or `label` in the document).
	Class string `json:"class"`
	// Confidence is the confidence (`confidence` or `score`), nil when there is none.
	Confidence *float64 `json:"confidence"`
	// Mask is the mask file the prediction refers to, nil when there is none.
	Mask *string `json:"mask"`
	// BBox is the bounding box in the document's units, nil when there is none.
	BBox *BBox `json:"bbox"`
	// JSON is the prediction as it stands in the document, for the fields Weir does not read.
	JSON json.RawMessage `json:"json"`
}

// BBox is a bounding box; X and Y are its top-left corner.
type BBox struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// Attachment describes a file that travels with the event.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        uint64 `json:"size"`
}

// Refusal is an edit or a state operation that does not fit: the filter may handle
// it, or return it as its error.
type Refusal struct {
	// Kind is for code to branch on: no-such-prediction, no-such-attachment,
	// no-such-destination, invalid-json, too-large, not-a-number, out-of-range,
	// not-utf8. Treat an unknown kind like any other refusal.
	Kind string
	// Message says what went wrong, naming the value.
	Message string
}

func (r *Refusal) Error() string { return r.Message }

func refused(kind, format string, args ...any) *Refusal {
	return &Refusal{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// MetadataValue returns the value of a metadata entry.
func (e *Event) MetadataValue(key string) (string, bool) {
	for _, m := range e.Metadata {
		if m.Key == key {
			return m.Value, true
		}
	}
	return "", false
}

// AttachmentBytes returns the bytes of an attachment, copied from Weir on request.
func (e *Event) AttachmentBytes(name string) ([]byte, bool) {
	return attachmentBytes(name)
}

// KeepPredictions keeps only the predictions at these indices of the prediction list
// (as the edits before it left the list: after a first KeepPredictions, indices refer
// to the kept predictions, in order). Weir edits the document, keeping the rest of it.
func (e *Event) KeepPredictions(indices ...uint32) error {
	if e.count >= 0 {
		distinct := map[uint32]bool{}
		for _, i := range indices {
			if int(i) >= e.count {
				return refused("no-such-prediction", "kept prediction %d, but the event lists %d", i, e.count)
			}
			distinct[i] = true
		}
		e.count = len(distinct)
	}
	return e.edit("keep_predictions", indices)
}

// SetPredictions replaces the predictions document with this JSON text. Weir reads
// the new document's prediction list; the SDK cannot, so later KeepPredictions
// indices are only checked by Weir.
func (e *Event) SetPredictions(document []byte) error {
	if !json.Valid(document) {
		return refused("invalid-json", "set predictions that are not valid JSON")
	}
	e.count = -1
	return e.edit("set_predictions", json.RawMessage(document))
}

// RemoveAttachment removes an attachment.
func (e *Event) RemoveAttachment(name string) error {
	if e.attachments == nil {
		e.attachments = []string{}
		for _, a := range e.Attachments {
			e.attachments = append(e.attachments, a.Name)
		}
	}
	at := index(e.attachments, name)
	if at < 0 {
		return refused("no-such-attachment", "removed attachment %q, which the event does not have", name)
	}
	e.attachments = append(e.attachments[:at], e.attachments[at+1:]...)
	return e.edit("remove_attachment", name)
}

// Weir's limits on metadata (the ones senders meet too: metadata travels as headers).
const (
	MaxMetadataKey     = 128
	MaxMetadataValue   = 4096
	MaxMetadataEntries = 64
)

// SetMetadata adds a metadata entry, or overwrites the value of the key in place.
func (e *Event) SetMetadata(key, value string) error {
	keys := e.metadataKeys()
	switch {
	case key == "":
		return refused("too-large", "a metadata key must not be empty")
	case len(key) > MaxMetadataKey:
		return refused("too-large", "the metadata key is %d bytes; the limit is %d", len(key), MaxMetadataKey)
	case len(value) > MaxMetadataValue:
		return refused("too-large", "the value of metadata %q is %d bytes; the limit is %d", key, len(value), MaxMetadataValue)
	case !utf8.ValidString(key) || !utf8.ValidString(value):
		return refused("not-utf8", "metadata must be UTF-8")
	}
	if index(keys, key) < 0 {
		if len(keys)+1 > MaxMetadataEntries {
			return refused("too-large", "the event would have %d metadata entries; the limit is %d", len(keys)+1, MaxMetadataEntries)
		}
		e.metadata = append(keys, key)
	}
	return e.edit("set_metadata", [2]string{key, value})
}

// RemoveMetadata removes a metadata entry; a key that is not there is not an error.
func (e *Event) RemoveMetadata(key string) error {
	keys := e.metadataKeys()
	if at := index(keys, key); at >= 0 {
		e.metadata = append(keys[:at], keys[at+1:]...)
	}
	return e.edit("remove_metadata", key)
}

// NarrowDestinations narrows the destinations to these names, each of which must be
// one of the event's current destinations; none means the event goes nowhere.
func (e *Event) NarrowDestinations(names ...string) error {
	if e.destinations == nil {
		e.destinations = append([]string{}, e.Destinations...)
	}
	for _, name := range names {
		if index(e.destinations, name) < 0 {
			return refused("no-such-destination", "routed the event to %q, which is not one of its destinations", name)
		}
	}
	kept := []string{}
	for _, d := range e.destinations {
		if index(names, d) >= 0 {
			kept = append(kept, d)
		}
	}
	e.destinations = kept
	if names == nil {
		names = []string{}
	}
	return e.edit("narrow_destinations", names)
}

func (e *Event) metadataKeys() []string {
	if e.metadata == nil {
		e.metadata = []string{}
		for _, m := range e.Metadata {
			e.metadata = append(e.metadata, m.Key)
		}
	}
	return e.metadata
}

func (e *Event) edit(kind string, value any) error {
	if e.edits.Len() > 0 {
		e.edits.WriteByte(',')
	}
	e.edits.WriteString(`{"`)
	e.edits.WriteString(kind)
	e.edits.WriteString(`":`)
	switch v := value.(type) {
	case []uint32:
		e.edits.WriteByte('[')
		for i, n := range v {
			if i > 0 {
				e.edits.WriteByte(',')
			}
			e.edits.Write(strconv.AppendUint(e.edits.AvailableBuffer(), uint64(n), 10))
		}
		e.edits.WriteByte(']')
	case string:
		writeString(&e.edits, v)
	case []string:
		e.edits.WriteByte('[')
		for i, name := range v {
			if i > 0 {
				e.edits.WriteByte(',')
			}
			writeString(&e.edits, name)
		}
		e.edits.WriteByte(']')
	case json.RawMessage:
		e.edits.Write(v)
	case [2]string: // set_metadata
		e.edits.WriteString(`{"key":`)
		writeString(&e.edits, v[0])
		e.edits.WriteString(`,"value":`)
		writeString(&e.edits, v[1])
		e.edits.WriteByte('}')
	}
	e.edits.WriteByte('}')
	return nil
}

func index(list []string, name string) int {
	for i, s := range list {
		if s == name {
			return i
		}
	}
	return -1
}
