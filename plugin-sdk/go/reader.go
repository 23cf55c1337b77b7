package weir

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A reader for the event JSON Weir writes (wit/core-module.md): encoding/json's
// reflection costs several times the filter's own work in WebAssembly, so the event is
// read by hand; keys in any order, unknown ones skipped.
type reader struct {
	b   []byte
	i   int
	err error
}

var errSyntax = errors.New("the event is not the JSON Weir writes")

func (r *reader) fail() {
	if r.err == nil {
		r.err = errSyntax
	}
	r.i = len(r.b)
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\n', '\r', '\t':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) eat(c byte) bool {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *reader) expect(c byte) {
	if !r.eat(c) {
		r.fail()
	}
}

// rawString returns a string's content as written, and whether it holds escapes.
func (r *reader) rawString() ([]byte, bool) {
	r.expect('"')
	start, escaped := r.i, false
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case '"':
			r.i++
			return r.b[start : r.i-1], escaped
		case '\\':
			escaped = true
			r.i++
		}
		r.i++
	}
	r.fail()
	return nil, false
}

func (r *reader) str() string {
	raw, escaped := r.rawString()
	if !escaped {
		return string(raw)
	}
	return unescape(raw)
}

func unescape(raw []byte) string {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			if i+4 >= len(raw) {
				return string(out)
			}
			cp, _ := strconv.ParseUint(string(raw[i+1:i+5]), 16, 32)
			i += 4
			r := rune(cp)
			if utf16.IsSurrogate(r) && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				low, _ := strconv.ParseUint(string(raw[i+3:i+7]), 16, 32)
				if pair := utf16.DecodeRune(r, rune(low)); pair != utf8.RuneError {
					r = pair
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, raw[i])
		}
	}
	return string(out)
}

func (r *reader) number() float64 {
	r.ws()
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		r.i++
	}
	f, err := strconv.ParseFloat(string(r.b[start:r.i]), 64)
	if err != nil {
		r.fail()
	}
	return f
}

// skip passes a value, returning its text.
func (r *reader) skip() []byte {
	r.ws()
	start, depth := r.i, 0
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case '"':
			r.rawString()
			if depth == 0 {
				return r.b[start:r.i]
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return r.b[start:r.i]
			}
			depth--
			if depth == 0 {
				r.i++
				return r.b[start:r.i]
			}
		case ',', ' ', '\n', '\r', '\t':
			if depth == 0 {
				return r.b[start:r.i]
			}
		}
		r.i++
	}
	return r.b[start:r.i]
}

// object calls member for each key of an object, positioned at its value.
func (r *reader) object(member func(key []byte)) {
	r.expect('{')
	if r.eat('}') {
		return
	}
	for r.err == nil {
		key, _ := r.rawString()
		r.expect(':')
		member(key)
		if !r.eat(',') {
			break
		}
	}
	r.expect('}')
}

// array calls item for each item of an array, positioned at it.
func (r *reader) array(item func()) {
	r.expect('[')
	if r.eat(']') {
		return
	}
	for r.err == nil {
		item()
		if !r.eat(',') {
			break
		}
	}
	r.expect(']')
}

// parseEvent reads the event Weir wrote. The text is the SDK's input buffer, reused
// by the next call: what the event keeps of it is copied.
func parseEvent(text []byte) (*Event, error) {
	r := &reader{b: append([]byte(nil), text...)}
	e := &Event{Task: OtherTask}
	r.object(func(key []byte) {
		switch string(key) {
		case "id":
			e.ID = r.str()
		case "route":
			e.Route = r.str()
		case "task":
			e.Task = r.str()
		case "metadata":
			r.object(func(key []byte) {
				k := string(key)
				if bytesHaveEscape(key) {
					k = unescape(key)
				}
				e.Metadata = append(e.Metadata, MetadataEntry{k, r.str()})
			})
		case "predictions":
			e.Predictions = json.RawMessage(r.skip())
		case "prediction_list":
			r.array(func() { e.PredictionList = append(e.PredictionList, r.prediction()) })
		case "attachments":
			r.array(func() {
				var a Attachment
				r.object(func(key []byte) {
					switch string(key) {
					case "name":
						a.Name = r.str()
					case "content_type":
						a.ContentType = r.str()
					case "size":
						a.Size = uint64(r.number())
					default:
						r.skip()
					}
				})
				e.Attachments = append(e.Attachments, a)
			})
		case "destinations":
			r.array(func() { e.Destinations = append(e.Destinations, r.str()) })
		default:
			r.skip()
		}
	})
	if r.err != nil {
		return nil, r.err
	}
	e.count = len(e.PredictionList)
	return e, nil
}

func (r *reader) prediction() Prediction {
	var p Prediction
	r.object(func(key []byte) {
		switch string(key) {
		case "index":
			p.Index = uint32(r.number())
		case "class":
			p.Class = r.str()
		case "confidence":
			c := r.number()
			p.Confidence = &c
		case "mask":
			m := r.str()
			p.Mask = &m
		case "bbox":
			var b BBox
			r.object(func(key []byte) {
				switch string(key) {
				case "x":
					b.X = r.number()
				case "y":
					b.Y = r.number()
				case "width":
					b.Width = r.number()
				case "height":
					b.Height = r.number()
				default:
					r.skip()
				}
			})
			p.BBox = &b
		case "json":
			p.JSON = json.RawMessage(r.skip())
		default:
			r.skip()
		}
	})
	return p
}

func bytesHaveEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}
