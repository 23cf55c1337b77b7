package weir

import (
	"time"
	"unsafe"
)

// State is the filter's key/value store: one per filter of a route, shared by all its
// instances (every operation atomic across them), kept across hot reloads (and
// restarts, with state = "durable"), bounded in entries and bytes. Keep there what
// must outlive one event: instances run side by side and are replaced at any time.
var State stateStore

type stateStore struct{}

// NoExpiry is the time to live of an entry kept until it is deleted (or evicted).
const NoExpiry time.Duration = -1

//go:wasmimport weir state_get
func hostStateGet(key unsafe.Pointer, keyLen int32, buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport weir state_set
func hostStateSet(key unsafe.Pointer, keyLen int32, value unsafe.Pointer, valueLen int32, ttlMs int64) int64

//go:wasmimport weir state_compare_and_set
func hostStateCAS(key unsafe.Pointer, keyLen int32, expected unsafe.Pointer, expectedLen int32, value unsafe.Pointer, valueLen int32, ttlMs int64) int64

//go:wasmimport weir state_increment
func hostStateIncrement(key unsafe.Pointer, keyLen int32, delta int64, ttlMs int64, out unsafe.Pointer) int64

//go:wasmimport weir state_delete
func hostStateDelete(key unsafe.Pointer, keyLen int32) int64

func ttlMs(ttl time.Duration) int64 {
	if ttl < 0 {
		return -1
	}
	return ttl.Milliseconds()
}

func stateRefusal(code int64) error {
	switch code {
	case -2:
		return refused("too-large", "the key or the entry is too large for the state store")
	case -3:
		return refused("not-a-number", "the value is not a decimal integer")
	case -4:
		return refused("out-of-range", "the sum is out of range")
	case -5:
		return refused("not-utf8", "the key is not UTF-8")
	}
	return refused("refused", "the state store refused the operation (%d)", code)
}

// Get returns a key's value; false when it is absent or expired.
func (stateStore) Get(key string) ([]byte, bool) {
	k := bytesOf(key)
	buf := make([]byte, 256)
	for {
		size := hostStateGet(ptrOf(k), int32(len(k)), unsafe.Pointer(&buf[0]), int32(len(buf)))
		if size < 0 {
			return nil, false
		}
		if int(size) <= len(buf) {
			return buf[:size], true
		}
		buf = make([]byte, size) // grew in between: read again
	}
}

// Set sets a key, to expire after ttl (NoExpiry: never).
func (stateStore) Set(key string, value []byte, ttl time.Duration) error {
	k := bytesOf(key)
	if code := hostStateSet(ptrOf(k), int32(len(k)), ptrOf(value), int32(len(value)), ttlMs(ttl)); code != 0 {
		return stateRefusal(code)
	}
	return nil
}

// CompareAndSet sets the key to value (nil: deletes it) only if its value is expected
// (nil: absent or expired); true when it was set.
func (stateStore) CompareAndSet(key string, expected, value []byte, ttl time.Duration) (bool, error) {
	k := bytesOf(key)
	expectedLen, valueLen := int32(len(expected)), int32(len(value))
	if expected == nil {
		expectedLen = -1
	}
	if value == nil {
		valueLen = -1
	}
	code := hostStateCAS(ptrOf(k), int32(len(k)), ptrOf(expected), expectedLen, ptrOf(value), valueLen, ttlMs(ttl))
	if code < 0 {
		return false, stateRefusal(code)
	}
	return code == 1, nil
}

// Claim sets the key if it is absent, for ttl: true for exactly one caller until the
// key expires (a cooldown, a once-only alert).
func (s stateStore) Claim(key string, ttl time.Duration) (bool, error) {
	return s.CompareAndSet(key, nil, []byte("1"), ttl)
}

// Increment adds delta to the key's decimal value (absent: 0), stores and returns it.
func (stateStore) Increment(key string, delta int64, ttl time.Duration) (int64, error) {
	k := bytesOf(key)
	var sum int64
	if code := hostStateIncrement(ptrOf(k), int32(len(k)), delta, ttlMs(ttl), unsafe.Pointer(&sum)); code != 0 {
		return 0, stateRefusal(code)
	}
	return sum, nil
}

// Delete deletes a key; true when a live entry was there.
func (stateStore) Delete(key string) bool {
	k := bytesOf(key)
	return hostStateDelete(ptrOf(k), int32(len(k))) == 1
}
