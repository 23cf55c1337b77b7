"""Messages in Weir's log, tagged with the filter's name.

    weir.log.info(f"ready: {len(self.classes)} classes")

Weir rate-limits them and cuts long ones: log what helps someone debugging a route,
not every prediction. `debug` and `trace` show only when Weir logs at that level
(`WEIR_LOG=weir=debug`). `print()` works too (stdout and stderr go to Weir's log,
capped), but without a level. Outside Weir, messages go to stderr.
"""

import sys as _sys

from . import _bindings

__all__ = ["trace", "debug", "info", "warn", "warning", "error"]

if _bindings.IN_WEIR:
    _Level = _bindings.host.Level
    _levels = {
        "trace": _Level.TRACE,
        "debug": _Level.DEBUG,
        "info": _Level.INFO,
        "warn": _Level.WARN,
        "error": _Level.ERROR,
    }
    _log = _bindings.host.log

    def _write(level, message):
        _log(_levels[level], message)

else:

    def _write(level, message):
        print(f"[{level}] {message}", file=_sys.stderr)


def _text(message):
    return message if isinstance(message, str) else str(message)


def trace(message) -> None:
    """Logs at trace level."""
    _write("trace", _text(message))


def debug(message) -> None:
    """Logs at debug level."""
    _write("debug", _text(message))


def info(message) -> None:
    """Logs at info level."""
    _write("info", _text(message))


def warn(message) -> None:
    """Logs at warn level."""
    _write("warn", _text(message))


warning = warn


def error(message) -> None:
    """Logs at error level."""
    _write("error", _text(message))
