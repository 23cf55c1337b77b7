"""Keeps only the predictions of the configured classes at or above a minimum
confidence, and drops the event when none is left: the Rust `class-filter`, in Python,
with the same config keys, decisions and messages (the suite compares them on every
fixture). See README.md.
"""

from dataclasses import dataclass, field

import weir


@dataclass
class Config:
    # Classes to keep. Empty keeps every class (only the confidence counts).
    classes: list[str] = field(default_factory=list)
    # Minimum confidence, 0 to 1. Predictions without a confidence (semantic
    # segmentation) are judged on their class alone.
    min_confidence: float = 0.0
    # Also remove the mask attachments of removed predictions, so that no mask travels
    # without its prediction.
    remove_orphaned_masks: bool = True


def rust_number(x: float) -> str:
    """`x` as Rust's `{}` writes an f64 (`0.5`, `2`, `0.0000001`): the same drop reasons
    and messages as the Rust filter, byte for byte."""
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


class ClassFilter(weir.Filter):
    Config = Config

    def __init__(self, config: Config):
        if not 0.0 <= config.min_confidence <= 1.0:
            raise weir.Error(f"min_confidence must be between 0 and 1, got {rust_number(config.min_confidence)}")
        self.classes = set(config.classes)
        self.min_confidence = config.min_confidence
        self.remove_orphaned_masks = config.remove_orphaned_masks
        which = ", ".join(config.classes) if config.classes else "any class"
        self.nothing_left = f"no prediction of {which} at confidence >= {rust_number(config.min_confidence)}"

    def keeps(self, prediction: weir.Prediction) -> bool:
        return (not self.classes or prediction.class_name in self.classes) and (
            prediction.confidence is None or prediction.confidence >= self.min_confidence
        )

    def filter(self, event: weir.Event) -> weir.Verdict:
        # Weir reads the predictions for us: no JSON parsing here, and Weir edits the
        # document from the indices we keep.
        items = event.prediction_list()
        keep = [p.index for p in items if self.keeps(p)]
        if not keep:
            return weir.drop(self.nothing_left)
        if len(keep) == len(items):
            return weir.keep()
        # Masks referred to only by removed predictions, and present on the event.
        orphaned = []
        if self.remove_orphaned_masks:
            kept = set(keep)
            kept_masks = {items[i].mask for i in keep if items[i].mask is not None}
            present = None
            for item in items:
                mask = item.mask
                if mask is None or item.index in kept or mask in kept_masks or mask in orphaned:
                    continue
                if present is None:
                    present = {a.name for a in event.attachments()}
                if mask in present:
                    orphaned.append(mask)
        event.keep_predictions(keep)
        for mask in orphaned:
            event.remove_attachment(mask)
        return weir.keep()
