"""The filter's key/value store, kept by Weir across events, instances and hot reloads
(and restarts, when the route's filter has `state = "durable"`).

One store per filter of a route: every instance of the filter sees the same entries,
and every operation is atomic across them, so two instances cannot both claim a key.
Keep here what must outlive one event (a cooldown, a counter), never in module globals
or attributes of the filter: instances run side by side and are replaced at any time.

The store is bounded (entries and bytes, set per filter in the route's config): when a
write would pass a bound, expired entries go first, then the least recently used. Keys
are at most 1 KiB. Values are bytes; a `str` is stored as UTF-8 and an `int` as its
decimal text (what `increment` reads). Times to live are in seconds (a float).

    import weir

    # At most one alert per camera per minute, across every instance of the filter.
    if not weir.state.claim(f"alert:{camera}", ttl=60):
        return weir.drop("alerted in the last minute")

Outside Weir (a unit test of a filter's helpers) the store is a dict in memory.
"""

import time as _time

from . import _bindings
from .errors import Refused

__all__ = ["get", "get_str", "set", "compare_and_set", "claim", "increment", "delete"]


def _bytes(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode("ascii")
    raise TypeError(f"state values are bytes, str or int, not {type(value).__name__}")


def _ttl_ms(ttl):
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"ttl is a number of seconds, not {type(ttl).__name__}")
    if not ttl >= 0:
        raise ValueError(f"ttl must be 0 or more seconds, got {ttl}")
    return min(int(ttl * 1000), 2**64 - 1)


if _bindings.IN_WEIR:
    _host = _bindings.state
    _Err = _bindings.Err

    def _refused(error):
        return Refused(error.value.kind, error.value.message)

    def _get(key):
        return _host.get(key)

    def _set(key, value, ttl_ms):
        try:
            _host.set(key, value, ttl_ms)
        except _Err as error:
            raise _refused(error) from None

    def _compare_and_set(key, expected, value, ttl_ms):
        try:
            return _host.compare_and_set(key, expected, value, ttl_ms)
        except _Err as error:
            raise _refused(error) from None

    def _increment(key, delta, ttl_ms):
        try:
            return _host.increment(key, delta, ttl_ms)
        except _Err as error:
            raise _refused(error) from None

    def _delete(key):
        return _host.delete(key)

else:
    # A stand-in for unit tests outside Weir: a dict, with expiry on the wall clock.
    _entries = {}

    def _now_ms():
        return int(_time.time() * 1000)

    def _live(key):
        entry = _entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= _now_ms():
            del _entries[key]
            return None
        return value

    def _put(key, value, ttl_ms):
        if len(key.encode("utf-8")) > 1024:
            raise Refused("too-large", f"key of {len(key.encode('utf-8'))} bytes is over 1024")
        _entries[key] = (value, None if ttl_ms is None else _now_ms() + ttl_ms)

    def _get(key):
        return _live(key)

    def _set(key, value, ttl_ms):
        _put(key, value, ttl_ms)

    def _compare_and_set(key, expected, value, ttl_ms):
        if _live(key) != expected:
            return False
        if value is None:
            _entries.pop(key, None)
        else:
            _put(key, value, ttl_ms)
        return True

    def _increment(key, delta, ttl_ms):
        current = _live(key)
        try:
            number = int(current.decode("ascii")) if current is not None else 0
        except ValueError:
            raise Refused("not-a-number", f"the value of {key!r} is not a decimal integer") from None
        number += delta
        _put(key, str(number).encode("ascii"), ttl_ms)
        return number

    def _delete(key):
        present = _live(key) is not None
        _entries.pop(key, None)
        return present


def get(key: str):
    """The value of a key (bytes), or None when it is absent or expired."""
    return _get(key)


def get_str(key: str):
    """The value of a key as text, or None when it is absent, expired or not UTF-8."""
    value = _get(key)
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def set(key: str, value, ttl: float = None) -> None:
    """Sets a key to `value` (bytes, str or int), to expire after `ttl` seconds (never,
    when None). Raises `weir.Refused` (`too-large`) when the entry alone exceeds the
    store's bytes."""
    _set(key, _bytes(value), _ttl_ms(ttl))


def compare_and_set(key: str, expected, value, ttl: float = None) -> bool:
    """Sets a key to `value` (or deletes it, when None) only if its current value is
    `expected` (None: absent or expired); whether it did. Atomic across instances."""
    return _compare_and_set(key, _bytes(expected), _bytes(value), _ttl_ms(ttl))


def claim(key: str, ttl: float) -> bool:
    """Claims a key for `ttl` seconds: True for exactly one caller until the key expires
    (or is deleted). The building block of "at most once per..."."""
    return _compare_and_set(key, None, b"1", _ttl_ms(ttl))


def increment(key: str, delta: int = 1, ttl: float = None) -> int:
    """Adds `delta` to the key's value, read as a decimal integer (0 when absent or
    expired), stores it with `ttl` and returns it. Raises `weir.Refused`
    (`not-a-number`) when the value is not a decimal integer."""
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError(f"delta is an int, not {type(delta).__name__}")
    return _increment(key, delta, _ttl_ms(ttl))


def delete(key: str) -> bool:
    """Deletes a key; whether it was there."""
    return _delete(key)
