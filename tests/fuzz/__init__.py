"""A deterministic mutation fuzzer for model files: mutators, a worker that runs one mutant through an entry point,
and a pool of worker processes that survives a worker killed by a signal.

    python -m tests.fuzz --mutants 10000          # what `make fuzz` runs; a table per mutation kind and entry point
    python -m tests.fuzz --replay tests/data/fuzz_crashers.json

A mutant is a recipe, ``(model, kind, seed)``: the same recipe always gives the same bytes, so a crasher is kept
as its recipe (:mod:`tests.fuzz.mutators`) and replayed by ``tests/integration/test_fuzz_regressions.py``.
"""
