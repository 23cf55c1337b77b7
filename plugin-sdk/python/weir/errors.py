"""How a filter fails, and how Weir refuses a call."""


class Error(Exception):
    """The filter cannot build itself (in `__init__`/`init`) or process this event.

    Raise it with a message for the operator: it becomes the contract's `filter-error`
    with exactly this message, and the route's failure policy (`on_filter_error`)
    decides the event's fate. Any other exception escaping the filter becomes a
    `filter-error` too, its message naming the exception (`KeyError: 'camera'`).
    """

    retryable = False

    def __init__(self, message: str, *, retryable: bool = None):
        super().__init__(message)
        self.message = str(message)
        if retryable is not None:
            self.retryable = bool(retryable)

    def __str__(self) -> str:
        return self.message


class Retry(Error):
    """The event may succeed later (a full state store, a limit reached): Weir answers
    the sender 503 with `Retry-After` so that it sends the event again, instead of
    applying the route's failure policy."""

    retryable = True


class Refused(Error):
    """Weir refused a call: an edit that does not fit the event, or a state operation
    past the store's limits. The event is as it was before the call.

    `kind` says which refusal, for code to branch on: `no-such-prediction`,
    `no-such-attachment`, `no-such-destination`, `invalid-json`, `too-large`,
    `not-a-number`, `out-of-range` (later versions of Weir may add kinds: treat an
    unknown one like any other). `message` says what went wrong, naming the value.
    Left uncaught, it fails the filter with Weir's message.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind

    def __repr__(self) -> str:
        return f"Refused(kind={self.kind!r}, message={self.message!r})"
