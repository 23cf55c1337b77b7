"""Notify once: lets through at most one event per key per period (the key built from
metadata, document fields and the predictions' class), or, in "new objects" mode, only
the events whose objects differ from the last event of their key. The Rust `cooldown`,
in Python, with the same config, keys, drop reasons and `cooldown-key` metadata. See
README.md.

The memory of what was let through is Weir's state store (`weir.state`), not the
filter's own: shared by every instance of the filter, kept across hot reloads (and
restarts, with `state = "durable"` on the route's filter). A dict in a module global
would be per instance, and forgotten when the instance is recycled.
"""

import json
from dataclasses import dataclass, field
from typing import Literal, Optional

import weir


@dataclass
class Config:
    # The period, in seconds: at most one event per key in it. In "new objects" mode,
    # how long a key's objects are remembered after its last event.
    seconds: float = 60.0
    # What the key is made of, in order: metadata.NAME, field.NAME, route, task, class.
    key: list[str] = field(default_factory=lambda: ["metadata.camera", "class"])
    # Only these classes count (empty: every class).
    classes: list[str] = field(default_factory=list)
    # Predictions below this confidence do not count.
    min_confidence: float = 0.0
    # "set": let an event through only when its key's set of classes changed; "count":
    # when the number of objects of some class changed. None: plain cooldown.
    new_objects: Optional[Literal["set", "count"]] = None


def rust_number(x: float) -> str:
    """`x` as Rust's `{}` writes an f64 (`60`, `2.5`): the same reasons as the Rust
    filter, byte for byte."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    mantissa, _, exponent = repr(float(x)).partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    whole, _, fraction = mantissa.lstrip("-").partition(".")
    digits, point = whole + fraction, len(whole) + int(exponent or 0)
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = text.lstrip("0") or "0"
    return sign + ("0" + text if text.startswith(".") else text)


def document_field(document: str, name: str) -> str:
    """A top-level field of the predictions document as Weir's reader gives it: a
    string's value, a number or boolean as written, nothing for objects, arrays and
    null (and for a document that is not an object)."""
    value = json.loads(
        document,
        parse_int=str,
        parse_float=str,
        # The first of duplicate keys, as Weir's reader takes it.
        object_pairs_hook=lambda pairs: dict(reversed(pairs)),
    )
    if not isinstance(value, dict):
        return ""
    value = value.get(name)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else ""


class Cooldown(weir.Filter):
    Config = Config

    def __init__(self, config: Config):
        if not (config.seconds > 0 and config.seconds != float("inf")):
            raise weir.Error(f"seconds must be more than 0, got {rust_number(config.seconds)}")
        if not config.key:
            raise weir.Error(
                'key is empty: name what makes two events the same, such as ["metadata.camera", "class"]'
            )
        self.parts = []
        for part in config.key:
            if part in ("route", "task", "class"):
                self.parts.append((part, None))
                continue
            kind, dot, name = part.partition(".")
            if dot and name and kind in ("metadata", "field"):
                self.parts.append((kind, name))
            else:
                raise weir.Error(
                    f"key part {json.dumps(part, ensure_ascii=False)} is not one of metadata.NAME, field.NAME, route, task, class"
                )
        self.config = config
        self.classes = set(config.classes)
        self.by_class = any(kind == "class" for kind, _ in self.parts)
        self.period = config.seconds

    def counts(self, prediction: weir.Prediction) -> bool:
        return (not self.classes or prediction.class_name in self.classes) and (
            prediction.confidence is None or prediction.confidence >= self.config.min_confidence
        )

    def base_key(self, event: weir.Event) -> str:
        """The key's parts other than the class, joined with `/`; empty for a part the
        event lacks."""
        document = None
        pieces = []
        for kind, name in self.parts:
            if kind == "metadata":
                pieces.append(event.metadata_value(name, ""))
            elif kind == "field":
                if document is None:
                    document = event.predictions()
                pieces.append(document_field(document, name))
            elif kind == "route":
                pieces.append(event.route())
            elif kind == "task":
                pieces.append(event.task())
            else:
                pieces.append("{class}")
        return "/".join(pieces)

    def signature(self, predictions) -> str:
        """What "new objects" remembers of a group: its classes, or classes and counts."""
        counts = {}
        for prediction in predictions:
            counts[prediction.class_name] = counts.get(prediction.class_name, 0) + 1
        if self.config.new_objects == "set":
            return ",".join(sorted(counts))
        return ",".join(f"{name}:{counts[name]}" for name in sorted(counts))

    def admit(self, key: str, predictions) -> bool:
        """Whether the key lets this group through now, recording it."""
        if self.config.new_objects is None:
            # Claiming the key succeeds for exactly one event until it expires.
            return weir.state.claim(key, ttl=self.period)
        signature = self.signature(predictions).encode()
        # Compare-and-set until this event's view is recorded: two instances seeing
        # the same new objects at once let only one event through.
        while True:
            last = weir.state.get(key)
            if weir.state.compare_and_set(key, last, signature, ttl=self.period):
                return last != signature

    def filter(self, event: weir.Event) -> weir.Verdict:
        counted = [p for p in event.prediction_list() if self.counts(p)]
        base = self.base_key(event)
        # One group per key: per class when the key has the class in it.
        groups = {}
        if self.by_class:
            for prediction in counted:
                groups.setdefault(base.replace("{class}", prediction.class_name), []).append(prediction)
            if not groups:
                return weir.drop("no prediction to notify about")
        else:
            groups[base] = counted
        keys = sorted(groups)
        admitted = [key for key in keys if self.admit(key, groups[key])]
        if not admitted:
            if self.config.new_objects is None:
                why = f"cooling down: {', '.join(keys)} notified in the last {rust_number(self.config.seconds)} s"
            else:
                why = f"no new objects for {', '.join(keys)}"
            return weir.drop(why)
        event.set_metadata("cooldown-key", ",".join(admitted))
        return weir.keep()
