"""The SDK's host-side behaviour, natively (no component): config reading, the state
store stand-in, errors, verdicts, and the build command's checks. What runs inside Weir
is checked by building the examples and comparing them with the Rust ones
(plugins/python/compare.py)."""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import weir  # noqa: E402
from weir import build  # noqa: E402


@dataclass
class Config:
    classes: list[str] = field(default_factory=list)
    min_confidence: float = 0.0
    mode: Optional[Literal["set", "count"]] = None
    name: str = "x"


def test_config_defaults_and_int_as_float():
    config = weir.parse_config(Config, {"min_confidence": 1, "classes": ["a"]})
    assert config == Config(classes=["a"], min_confidence=1.0)
    assert isinstance(config.min_confidence, float)


@pytest.mark.parametrize(
    "raw, says",
    [
        ({"class": []}, "invalid config: unknown field `class`, expected one of `classes`, `min_confidence`, `mode`, `name`"),
        ({"classes": "person"}, 'invalid config: classes: invalid type: string "person", expected an array'),
        ({"classes": [1]}, "invalid config: classes[0]: invalid type: number 1, expected a string"),
        ({"min_confidence": True}, "invalid config: min_confidence: invalid type: boolean `true`, expected a number"),
        ({"mode": "colour"}, "invalid config: mode: unknown variant `colour`, expected `set` or `count`"),
        ([], "invalid config: invalid type: an array, expected an object"),
    ],
)
def test_config_refusals_name_the_key(raw, says):
    with pytest.raises(weir.Error) as refused:
        weir.parse_config(Config, raw)
    assert str(refused.value) == says
    assert not refused.value.retryable


def test_missing_required_field():
    @dataclass
    class Needs:
        camera: str

    with pytest.raises(weir.Error, match="missing field `camera`"):
        weir.parse_config(Needs, {})


def test_errors_and_verdicts():
    assert weir.Retry("later").retryable and not weir.Error("no").retryable
    refused = weir.Refused("no-such-attachment", "no attachment mask.png")
    assert (refused.kind, refused.message, str(refused)) == ("no-such-attachment", "no attachment mask.png", "no attachment mask.png")
    assert weir.keep() == weir.keep() and weir.keep().kept
    assert weir.drop("why").reason == "why" and not weir.drop("why").kept


def test_state_stand_in():
    assert weir.state.get("k") is None
    assert weir.state.claim("k", ttl=60)
    assert not weir.state.claim("k", ttl=60)
    assert weir.state.get_str("k") == "1"
    weir.state.set("n", 41)
    assert weir.state.increment("n") == 42
    weir.state.set("s", "text")
    with pytest.raises(weir.Refused) as refused:
        weir.state.increment("s")
    assert refused.value.kind == "not-a-number"
    assert weir.state.compare_and_set("s", "text", None)
    assert weir.state.get("s") is None
    assert weir.state.delete("k") and not weir.state.delete("k")
    with pytest.raises(ValueError):
        weir.state.set("k", b"v", ttl=-1)


def test_build_refuses_a_module_without_a_filter(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import weir\n\ndef helper():\n    pass\n")
    with pytest.raises(build.BuildError, match="defines no filter"):
        build.build(str(app), str(tmp_path / "app.wasm"))
    taken = tmp_path / "weir.py"
    taken.write_text("def filter(event):\n    pass\n")
    with pytest.raises(build.BuildError, match="taken by the SDK"):
        build.build(str(taken), str(tmp_path / "x.wasm"))
