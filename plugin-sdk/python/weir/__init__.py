"""Write Weir filters in Python.

A filter is a class deriving from `weir.Filter`, built once per instance from the
route's config, then asked about each event:

    import weir

    class Filter(weir.Filter):
        def __init__(self, config: dict):
            self.camera = config["camera"]            # raising refuses the config

        def filter(self, event: weir.Event) -> weir.Verdict:
            if event.metadata_value("camera") != self.camera:
                return weir.drop("another camera")
            return weir.keep()

(or module-level functions `init(config)` and `filter(event)`). Build it with
`python -m weir build app.py -o filter.wasm`. See README.md beside this package.

- `Event`: the event, read lazily from Weir, and the edits made to it (each checked by
  Weir at once: `weir.Refused` when refused).
- `keep()`, `drop(reason)`: the verdict.
- `Error`, `Retry`: fail the filter on purpose (any other exception fails it too).
- `state`: a key/value store shared by the filter's instances, outliving events.
- `log`: messages in Weir's log.
- `parse_config`: a JSON config read into a dataclass, checked.
"""

from . import log, state
from .config import parse_config
from .errors import Error, Refused, Retry
from .event import Attachment, BBox, Event, Prediction, Verdict, drop, keep

__all__ = [
    "Attachment",
    "BBox",
    "Error",
    "Event",
    "Filter",
    "Prediction",
    "Refused",
    "Retry",
    "Verdict",
    "drop",
    "keep",
    "log",
    "parse_config",
    "state",
]

__version__ = "0.2.0"

#: The contract this SDK builds filters against.
CONTRACT = "weir:filter@0.2.0"


class Filter:
    """Derive from this class to write a filter.

    `__init__(self, config)` is called once per instance with the route's config: a
    dict parsed from JSON (`{}` when the route gives none), or, when the class sets
    `Config` to a dataclass, an instance of it (see `weir.parse_config`). Raise to
    refuse the config. `filter(self, event)` is called once per event and returns
    `weir.keep()` or `weir.drop(reason)`.

    Instances run side by side and are replaced at any time: keep what must outlive
    one event in `weir.state`, not in attributes.
    """

    #: A dataclass to read the config into, or None for a dict.
    Config = None

    def __init__(self, config):
        self.config = config

    def filter(self, event: Event) -> Verdict:
        raise NotImplementedError("a weir.Filter must define filter(self, event)")
