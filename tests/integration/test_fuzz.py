"""A few thousand deterministic model mutants through every entry point: no signal, no hang, no stray exception.

`make fuzz` runs the full campaign (10,000+ mutants over the real models, tables per kind and entry point); this
is CI's share: the small real models (tests/data, and the Fashion-MNIST CNN when built), every mutation kind.
"""

from __future__ import annotations

import pytest

from tests.fuzz import harness
from tests.fuzz.__main__ import MODELS, print_tables, recipes
from tests.fuzz.mutators import KINDS
from tests.fuzz.worker import ENTRIES

SMALL = ("tiny_int8", "upsample_int8", "grouped_conv_int8", "dynamic_int8", "tiny_float32", "fashion_int8")
PER_MODEL = 330  # x 6 models x 3 entry points: ~6,000 runs, about a minute on 2 cores


def test_mutants_end_in_edgeml_errors_or_results(capsys):
    models = {name: MODELS[name] for name in SMALL if MODELS[name].is_file()}
    if len(models) < 3:
        pytest.skip("needs the tests/data models")
    results = harness.run(recipes(models, dict.fromkeys(models, PER_MODEL), KINDS, first_seed=50_000), ENTRIES,
                          jobs=2, timeout=60)
    with capsys.disabled():
        print_tables(results)
    by_kind = results.counts("kind")
    assert set(by_kind) == set(KINDS)
    assert all(counts["edgeml"] > 0 for counts in by_kind.values())  # each kind does break models
    assert not results.findings, [(o.recipe, o.entry, o.outcome, o.message[:200]) for o in results.findings[:10]]
