"""The event as a filter sees it, the edits it makes to it, and the verdict."""

import json as _json

from . import _bindings
from .errors import Refused

_Err = _bindings.Err if _bindings.IN_WEIR else ()


class BBox:
    """A prediction's bounding box, in the document's own units (pixels, or fractions of
    the image): `x`, `y` (the top-left corner), `width`, `height`."""

    __slots__ = ("x", "y", "width", "height")

    def __init__(self, x: float, y: float, width: float, height: float):
        self.x = x
        self.y = y
        self.width = width
        self.height = height

    def __repr__(self) -> str:
        return f"BBox(x={self.x!r}, y={self.y!r}, width={self.width!r}, height={self.height!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, BBox) and (self.x, self.y, self.width, self.height) == (
            other.x,
            other.y,
            other.width,
            other.height,
        )


class Prediction:
    """One prediction, as Weir read it from the predictions document.

    - `index`: its place in `event.prediction_list()`, what `keep_predictions` takes;
    - `class_name`: the class label (`class`, or `label`, in the document);
    - `confidence`: a float, or None when the model gives none (semantic segmentation);
    - `mask`: the mask file it refers to (`mask_0000.png`), or None;
    - `bbox`: a `BBox`, or None;
    - `json`: the prediction exactly as it stands in the document, as JSON text;
      `fields()` parses it, for the fields Weir does not read.
    """

    __slots__ = ("index", "class_name", "confidence", "mask", "bbox", "json")

    def __init__(self, index, class_name, confidence=None, mask=None, bbox=None, json="{}"):
        self.index = index
        self.class_name = class_name
        self.confidence = confidence
        self.mask = mask
        self.bbox = bbox
        self.json = json

    def fields(self):
        """The prediction's own JSON, parsed (a dict): for the fields Weir does not read."""
        return _json.loads(self.json)

    def __repr__(self) -> str:
        return (
            f"Prediction(index={self.index!r}, class_name={self.class_name!r}, "
            f"confidence={self.confidence!r}, mask={self.mask!r}, bbox={self.bbox!r})"
        )


class Attachment:
    """A file that travels with the event, without its bytes: `name` (unique within the
    event: `image.jpeg`, `mask_0000.png`), `content_type` (`image/png`), `size` in bytes."""

    __slots__ = ("name", "content_type", "size")

    def __init__(self, name: str, content_type: str, size: int):
        self.name = name
        self.content_type = content_type
        self.size = size

    def __repr__(self) -> str:
        return f"Attachment(name={self.name!r}, content_type={self.content_type!r}, size={self.size!r})"


def _prediction(p) -> Prediction:
    b = p.bbox
    return Prediction(
        p.index,
        p.class_,
        p.confidence,
        p.mask,
        None if b is None else BBox(b.x, b.y, b.width, b.height),
        p.json,
    )


def _refused(error) -> Refused:
    refusal = error.value
    return Refused(refusal.kind, refusal.message)


class Event:
    """One prediction event, lent to the filter for one call.

    Every method asks Weir, at the call: the filter pays only for what it reads (an
    image is copied in only by `attachment_bytes`). Edits apply at once, each checked
    by Weir; one that does not fit the event raises `weir.Refused` and changes nothing.
    Edits take effect when the filter returns `weir.keep()`.
    """

    __slots__ = ("_e",)

    def __init__(self, handle):
        self._e = handle

    # --- reading -------------------------------------------------------------------

    def id(self) -> str:
        """The event id: the sender's `Idempotency-Key` or `webhook-id`, or one Weir
        assigned. Stable across retries."""
        return self._e.id()

    def route(self) -> str:
        """The name of the route the event came in on."""
        return self._e.route()

    def task(self) -> str:
        """The model's task: `object-detection`, `classification`,
        `multilabel-classification`, `instance-segmentation`, `semantic-segmentation`,
        `other`, or any other lowercase-dashed name a sender gives (treat unknown ones
        like `other`)."""
        return self._e.task()

    def metadata(self) -> dict:
        """The metadata entries, in order, as a dict of str to str."""
        return dict(self._e.metadata())

    def metadata_value(self, key: str, default=None):
        """The value of one metadata entry, or `default` when there is none."""
        value = self._e.metadata_value(key)
        return default if value is None else value

    def predictions(self) -> str:
        """The predictions document, as JSON text."""
        return self._e.predictions()

    def predictions_json(self):
        """The predictions document, parsed (usually a dict)."""
        return _json.loads(self._e.predictions())

    def prediction_list(self) -> list:
        """The predictions, as Weir read them from the document (every task type, and
        batch job results), in document order: a list of `Prediction`. No JSON parsing
        needed; keep a subset with `keep_predictions`."""
        return [_prediction(p) for p in self._e.prediction_list()]

    def attachments(self) -> list:
        """The attachments, without their bytes: a list of `Attachment`."""
        return [Attachment(a.name, a.content_type, a.size) for a in self._e.attachments()]

    def attachment_bytes(self, name: str):
        """The bytes of one attachment, copied from Weir only now; None when the event
        has no attachment of that name."""
        return self._e.attachment_bytes(name)

    def destinations(self) -> list:
        """The names of the destinations the event is currently bound for."""
        return self._e.destinations()

    # --- editing -------------------------------------------------------------------

    def keep_predictions(self, predictions) -> None:
        """Keeps only these predictions (indices of `prediction_list()`, or `Prediction`
        objects); Weir removes the others from the document, leaving the rest of it as
        it was. Afterwards `prediction_list()` lists the kept ones, indexed afresh.
        Refused (`no-such-prediction`) for an index past the end of the list."""
        indices = [p if isinstance(p, int) else p.index for p in predictions]
        try:
            self._e.keep_predictions(indices)
        except _Err as error:
            raise _refused(error) from None

    def set_predictions(self, document) -> None:
        """Replaces the predictions document: JSON text (a str), or any value `json`
        can serialise (a dict, a list). Refused (`invalid-json`) for text that is not
        JSON."""
        if not isinstance(document, str):
            document = _json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        try:
            self._e.set_predictions(document)
        except _Err as error:
            raise _refused(error) from None

    def remove_attachment(self, name: str) -> None:
        """Removes the attachment of this name. Refused (`no-such-attachment`) when the
        event has none."""
        try:
            self._e.remove_attachment(name)
        except _Err as error:
            raise _refused(error) from None

    def set_metadata(self, key: str, value) -> None:
        """Sets a metadata entry (overwriting the key's value in place); `value` is
        converted with `str()`. Refused (`too-large`) past Weir's limits."""
        try:
            self._e.set_metadata(key, value if isinstance(value, str) else str(value))
        except _Err as error:
            raise _refused(error) from None

    def remove_metadata(self, key: str) -> None:
        """Removes a metadata entry, if there is one."""
        try:
            self._e.remove_metadata(key)
        except _Err as error:
            raise _refused(error) from None

    def narrow_destinations(self, names) -> None:
        """Narrows the destinations to these names, keeping the route's order. Each must
        be one of `destinations()` (or `no-such-destination` is refused); an empty list
        sends the event nowhere."""
        try:
            self._e.narrow_destinations(list(names))
        except _Err as error:
            raise _refused(error) from None


class Verdict:
    """What the filter decides: `weir.keep()` or `weir.drop(reason)`."""

    __slots__ = ("reason",)

    def __init__(self, reason=None):
        self.reason = reason

    @property
    def kept(self) -> bool:
        return self.reason is None

    def __repr__(self) -> str:
        return "weir.keep()" if self.reason is None else f"weir.drop({self.reason!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Verdict) and other.reason == self.reason


_KEEP = Verdict()


def keep() -> Verdict:
    """Pass the event on, with the edits made during the call."""
    return _KEEP


def drop(reason: str) -> Verdict:
    """Stop the event here; `reason` says why (Weir counts and logs it)."""
    return Verdict(str(reason))
