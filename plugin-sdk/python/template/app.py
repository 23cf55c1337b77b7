"""{{name}}: a Weir filter in Python.

Keeps the predictions at or above `min_confidence` (default 0.5), drops the event when
none is left, and says in the metadata how many were kept. Build: ./build.sh
"""

from dataclasses import dataclass

import weir


@dataclass
class Config:
    min_confidence: float = 0.5


class Filter(weir.Filter):
    Config = Config  # the route's JSON config, read into this dataclass (unknown keys refused)

    def __init__(self, config: Config):
        if not 0 <= config.min_confidence <= 1:
            raise weir.Error(f"min_confidence must be between 0 and 1, got {config.min_confidence}")
        self.min_confidence = config.min_confidence

    def filter(self, event: weir.Event) -> weir.Verdict:
        confident = [
            p for p in event.prediction_list() if p.confidence is None or p.confidence >= self.min_confidence
        ]
        if not confident:
            return weir.drop(f"nothing at confidence >= {self.min_confidence}")
        event.keep_predictions(confident)
        event.set_metadata("{{name}}-kept", len(confident))
        return weir.keep()
