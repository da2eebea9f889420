"""The crashers the mutation fuzzer found (tests/data/fuzz_crashers.json) stay stopped, by the check named there.

Each is replayed from its recipe (model, mutation kind, seed) and run through all three entry points in worker
processes, so a regression shows up as a failed test, not as a dead test runner.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edgeml.errors import EdgemlError
from edgeml.model import ModelFile
from tests.fuzz import harness
from tests.fuzz.__main__ import MODELS
from tests.fuzz.mutators import Base, mutate
from tests.fuzz.worker import ENTRIES

CRASHERS = json.loads((Path(__file__).resolve().parents[1] / "data" / "fuzz_crashers.json").read_text())["crashers"]


def _needs(name: str) -> Path:
    path = MODELS[name]
    if not path.is_file():
        pytest.skip(f"{name} is built by the converter tests (make test builds it into build/test-cache)")
    return path


@pytest.mark.parametrize("crasher", CRASHERS, ids=lambda c: f"{c['model']}-{c['kind']}-{c['seed']}")
def test_crasher_is_stopped_by_its_check(crasher):
    data = mutate(Base(crasher["model"], _needs(crasher["model"]).read_bytes()), crasher["kind"], crasher["seed"])
    model = ModelFile.from_bytes(data, "mutant.tflite")
    if crasher["stopped_by"]:
        with pytest.raises(EdgemlError) as info:
            model.verify()
            model.metadata  # noqa: B018 - a metadata bomb is refused when the metadata is read
        message = str(info.value)
        assert re.search(crasher["stopped_by"], message), message
        assert "\n" not in message and len(message) <= harness.MESSAGE_LIMIT
    else:  # damaged metadata on an intact model: loads, and says what was lost
        model.verify()
        assert any(re.search(crasher["metadata_lost"], p) for p in model.metadata.problems), model.metadata.problems


def test_crashers_through_every_entry_point():
    """Classifier(...).classify, edgeml inspect and edgeml edgetpu check: an EdgemlError or a result, each time."""
    recipes = [harness.Recipe(c["model"], str(MODELS[c["model"]]), c["kind"], c["seed"]) for c in CRASHERS
               if MODELS[c["model"]].is_file()]
    results = harness.run(recipes, ENTRIES, jobs=2, timeout=60)
    assert len(results.outcomes) == len(recipes) * len(ENTRIES)
    assert not results.findings, [(o.recipe, o.entry, o.outcome, o.message) for o in results.findings]
