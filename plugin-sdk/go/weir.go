// Package weir writes Weir filters in Go, as WebAssembly core modules of contract 0.2
// (wit/core-module.md). The package owns the module's exports (weir_alloc, weir_init,
// weir_filter, weir_abi_version) and the JSON; a filter registers its handler from an
// init function:
//
//	package main
//
//	import "weir"
//
//	type Config struct {
//		Class string `json:"class"`
//	}
//
//	func init() {
//		weir.Register(Config{Class: "person"}, func(c Config) (weir.Handler, error) {
//			return func(e *weir.Event) (weir.Verdict, error) {
//				for _, p := range e.PredictionList {
//					if p.Class == c.Class {
//						return weir.Keep, nil
//					}
//				}
//				return weir.Drop("no " + c.Class), nil
//			}, nil
//		})
//	}
//
//	func main() {}
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o filter.wasm .
package weir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Version is the contract this SDK speaks, as weir_abi_version returns it.
const Version = 0x200

// Handler decides what happens to one event: a Verdict, or an error when the event
// cannot be processed (see Retryable).
type Handler func(event *Event) (Verdict, error)

// Verdict is the outcome of a filter for one event: Keep (with the edits made on the
// event), or Drop with a reason.
type Verdict struct {
	drop   bool
	reason string
}

// Keep passes the event on, with its edits.
var Keep = Verdict{}

// Drop stops the event, saying why (the reason is counted and logged).
func Drop(reason string) Verdict { return Verdict{drop: true, reason: reason} }

// Dropf is Drop with a formatted reason.
func Dropf(format string, args ...any) Verdict { return Drop(fmt.Sprintf(format, args...)) }

type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

// Retryable marks an error as one the same event could get past later (a full state
// store, say): Weir answers the sender 503 with Retry-After instead of applying the
// route's failure policy.
func Retryable(err error) error { return retryable{err} }

// IsRetryable says whether err was marked Retryable.
func IsRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

var (
	build   func(config []byte) (Handler, error)
	handler Handler
)

// Register sets up the filter: at load, Weir's config (JSON) is decoded into a copy of
// defaults (unknown keys are refused) and given to newFilter, whose error refuses the
// config with its message; the Handler it returns then sees every event. Call it from
// an init function of package main.
func Register[C any](defaults C, newFilter func(config C) (Handler, error)) {
	build = func(text []byte) (Handler, error) {
		config := defaults
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&config); err != nil {
			return nil, fmt.Errorf("invalid config: %v", err)
		}
		if dec.More() {
			return nil, errors.New("invalid config: text after the JSON value")
		}
		return newFilter(config)
	}
}

// Handle sets up a filter that takes no config (any config is ignored).
func Handle(h Handler) {
	build = func([]byte) (Handler, error) { return h, nil }
}

// FormatNumber formats a number as Rust's Display does (and so Weir's Rust filters):
// the shortest text that reads back as the same number, never an exponent (0.5, 1, 0.0000001).
func FormatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// ---- the ABI ----

var (
	input  []byte // the buffer weir_alloc hands out, reused from call to call
	result []byte // the last result, alive until the next call
)

//go:wasmexport weir_abi_version
func abiVersion() int32 { return Version }

//go:wasmexport weir_alloc
func alloc(size int32) int32 {
	if int(size) > cap(input) || cap(input) == 0 {
		input = make([]byte, size+1)
	}
	return int32(uintptr(unsafe.Pointer(&input[:1][0])))
}

func packed(b []byte) int64 {
	result = b
	if len(b) == 0 {
		return 0
	}
	return int64(uintptr(unsafe.Pointer(&b[0])))<<32 | int64(len(b))
}

//go:wasmexport weir_init
func initFilter(ptr, size int32) int64 {
	if build == nil {
		return packed([]byte("the filter registers no handler: call weir.Register from an init function of package main"))
	}
	h, err := build(input[:size])
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = "the filter refused its config"
		}
		return packed([]byte(msg))
	}
	handler = h
	return 0
}

//go:wasmexport weir_filter
func filter(ptr, size int32) int64 {
	var out bytes.Buffer
	event, err := parseEvent(input[:size])
	if err != nil {
		return packed(errorVerdict(&out, fmt.Errorf("cannot read the event: %v", err)))
	}
	if handler == nil { // weir_init not called: a config-less filter
		if handler, err = build([]byte("{}")); err != nil {
			return packed(errorVerdict(&out, err))
		}
	}
	verdict, err := handler(event)
	if err != nil {
		return packed(errorVerdict(&out, err))
	}
	if verdict.drop {
		out.WriteString(`{"verdict":"drop","reason":`)
		writeString(&out, verdict.reason)
		out.WriteByte('}')
		return packed(out.Bytes())
	}
	out.WriteString(`{"verdict":"keep"`)
	if event.edits.Len() > 0 {
		out.WriteString(`,"edits":[`)
		out.Write(event.edits.Bytes())
		out.WriteByte(']')
	}
	out.WriteByte('}')
	return packed(out.Bytes())
}

func errorVerdict(out *bytes.Buffer, err error) []byte {
	out.WriteString(`{"verdict":"error","message":`)
	writeString(out, err.Error())
	out.WriteString(`,"retryable":`)
	out.WriteString(strconv.FormatBool(IsRetryable(err)))
	out.WriteByte('}')
	return out.Bytes()
}

// writeString writes s as a JSON string (invalid UTF-8 becomes U+FFFD).
func writeString(out *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	out.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			out.WriteByte('\\')
			out.WriteByte(c)
		case '\n':
			out.WriteString(`\n`)
		case '\t':
			out.WriteString(`\t`)
		case '\r':
			out.WriteString(`\r`)
		default:
			out.WriteString(`\u00`)
			out.WriteByte(hex[c>>4])
			out.WriteByte(hex[c&15])
		}
		start = i + 1
	}
	out.WriteString(s[start:])
	out.WriteByte('"')
}

// ---- host services ----

// Level is the severity of a log message.
type Level int32

// Log levels.
const (
	Trace Level = iota
	Debug
	Info
	Warn
	Error
)

//go:wasmimport weir log
func hostLog(level int32, ptr unsafe.Pointer, size int32)

// Log writes a message to Weir's log, tagged with the plugin's name (rate-limited,
// long messages truncated). Debug and trace show with WEIR_LOG=debug.
func Log(level Level, message string) {
	if message == "" {
		return
	}
	b := []byte(message)
	hostLog(int32(level), unsafe.Pointer(&b[0]), int32(len(b)))
}

// Logf is Log with a formatted message.
func Logf(level Level, format string, args ...any) { Log(level, fmt.Sprintf(format, args...)) }

//go:wasmimport weir attachment
func hostAttachment(name unsafe.Pointer, nameLen int32, buf unsafe.Pointer, bufLen int32) int64

func attachmentBytes(name string) ([]byte, bool) {
	n := bytesOf(name)
	size := hostAttachment(ptrOf(n), int32(len(n)), nil, 0)
	if size < 0 {
		return nil, false
	}
	buf := make([]byte, size)
	if size > 0 {
		hostAttachment(ptrOf(n), int32(len(n)), unsafe.Pointer(&buf[0]), int32(size))
	}
	return buf, true
}

func bytesOf(s string) []byte { return []byte(s) }

func ptrOf(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}
