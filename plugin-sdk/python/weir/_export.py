"""The glue between the user's module and the world componentize-py exports.

The build command (`python -m weir build app.py`) makes an entry module that imports
the user's module and sets `WitWorld = weir._export.world(app)`: componentize-py finds
the export class there, so the user writes no binding code. Everything the filter
raises, in `__init__`/`init` as in `filter`, becomes the contract's `filter-error`
rather than a trap.
"""

import json
import os
import sys
import traceback

import wit_world
from componentize_py_types import Err
from wit_world.imports import types as _t

from . import log
from .config import parse_config
from .errors import Error
from .event import Event, Verdict

_SDK_DIR = os.path.dirname(os.path.abspath(__file__))


def find_filter(module):
    """How to build and call the filter `module` defines: a subclass of `weir.Filter`,
    or module-level functions `filter(event)` and, optionally, `init(config)`."""
    from . import Filter

    classes = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, Filter) and v is not Filter and v.__module__ == module.__name__
    ]
    if len(classes) > 1:
        named = [c for c in classes if c.__name__ == "Filter"]
        if len(named) != 1:
            names = ", ".join(c.__name__ for c in classes)
            raise TypeError(f"{module.__name__} defines several weir.Filter classes ({names}): name the one to export `Filter`")
        classes = named
    if classes:
        cls = classes[0]

        def build(raw):
            config = parse_config(cls.Config, raw) if cls.Config is not None else raw
            return cls(config).filter

        return build
    function = getattr(module, "filter", None)
    if callable(function):
        init = getattr(module, "init", None)

        def build(raw):
            if callable(init):
                init(raw)
            return function

        return build
    raise TypeError(
        f"{module.__name__} defines no filter: write a class deriving from weir.Filter, "
        "or a function filter(event) (with init(config) if it takes a config)"
    )


def _where(error):
    """`file:line in function` of the innermost frame of the filter's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if not os.path.abspath(frame.filename).startswith(_SDK_DIR + os.sep):
            return f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
    return None


def filter_error(error):
    """The contract's `filter-error` for an exception."""
    if isinstance(error, Error):
        return _t.FilterError(message=error.message, retryable=error.retryable)
    text = str(error)
    message = f"{type(error).__name__}: {text}" if text else type(error).__name__
    where = _where(error)
    if where:
        message = f"{message} (at {where})"
    try:
        log.debug("".join(traceback.format_exception(error)))
    except BaseException:
        pass
    return _t.FilterError(message=message, retryable=False)


_KEEP = _t.Verdict_Keep()


def world(module):
    """The export class for the filter `module` defines."""
    build = find_filter(module)
    run = None

    class WitWorld(wit_world.WitWorld):
        def init(self, config: str) -> None:
            nonlocal run
            try:
                try:
                    raw = json.loads(config) if config.strip() else {}
                except ValueError as error:
                    raise Error(f"invalid config: {error}") from None
                run = build(raw)
            except BaseException as error:
                raise Err(filter_error(error)) from None

        def filter(self, event) -> _t.Verdict:
            try:
                if run is None:
                    raise Error("filter called before init")
                verdict = run(Event(event))
                if verdict.__class__ is not Verdict:
                    raise TypeError(f"the filter returned {verdict!r}: return weir.keep() or weir.drop(reason)")
            except BaseException as error:
                raise Err(filter_error(error)) from None
            reason = verdict.reason
            return _KEEP if reason is None else _t.Verdict_Drop(reason)

    return WitWorld
