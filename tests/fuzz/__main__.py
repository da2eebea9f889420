"""``python -m tests.fuzz``: mutants of the real models through Classifier, inspect and edgetpu check."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.fuzz import harness
from tests.fuzz.mutators import KINDS
from tests.fuzz.worker import ENTRIES

ROOT = harness.ROOT
CACHE = ROOT / "build" / "test-cache"
MODELS = {  # name -> path; the first three are the real models the tests build (make test builds them)
    "fashion_int8": CACHE / "fashion" / "int8" / "fashion_cnn_int8.tflite",
    "mobilenet_v2_int8": CACHE / "edgetpu" / "mobilenet_v2" / "mobilenet_v2_int8.tflite",
    "efficientnet_lite0_int8": CACHE / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite",
    **{p.stem: p for p in sorted((ROOT / "tests" / "data").glob("*.tflite"))},
}


def recipes(models: dict[str, Path], per_model: dict[str, int], kinds: tuple[str, ...] = KINDS,
            first_seed: int = 0) -> list[harness.Recipe]:
    """``per_model[name]`` mutants of each model, the kinds taking turns, seeds counting up."""
    out = []
    for name, path in models.items():
        for i in range(per_model.get(name, 0)):
            out.append(harness.Recipe(name, str(path), kinds[i % len(kinds)], first_seed + i // len(kinds)))
    return out


def print_tables(results: harness.Results, file=sys.stdout) -> None:
    columns = ("ran", "edgeml", "exception", "signal", "hang")
    for by in ("kind", "entry", "model"):
        table = results.counts(by)
        print(f"\n| {by} | " + " | ".join(columns) + " | total |", file=file)
        print("|---" * (len(columns) + 2) + "|", file=file)
        for key in sorted(table):
            row = table[key]
            print(f"| {key} | " + " | ".join(str(row[c]) for c in columns) + f" | {sum(row.values())} |", file=file)
    mutants = len({(o.recipe.name, o.recipe.kind, o.recipe.seed) for o in results.outcomes})
    longest = max((len(o.message) for o in results.outcomes if o.outcome == "edgeml"), default=0)
    print(f"\n{mutants} mutants, {len(results.outcomes)} runs in {results.seconds:.0f} s; "
          f"{len(results.findings)} findings; longest error message {longest} characters; "
          f"{results.restarts} worker restarts", file=file)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    p.add_argument("--mutants", type=int, default=10_000, help="total mutants, shared out over the models")
    p.add_argument("--models", nargs="*", default=["fashion_int8", "mobilenet_v2_int8", "efficientnet_lite0_int8",
                                                    "tiny_int8", "upsample_int8", "grouped_conv_int8"])
    p.add_argument("--kinds", nargs="*", default=list(KINDS))
    p.add_argument("--entries", nargs="*", default=list(ENTRIES))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--findings", type=Path, help="write the findings (recipes) to this JSON file")
    args = p.parse_args(argv)
    missing = [m for m in args.models if not MODELS.get(m, Path("/nonexistent")).is_file()]
    if missing:
        print(f"missing models {missing}: run `make test` once to build them into {CACHE}", file=sys.stderr)
        return 2
    models = {m: MODELS[m] for m in args.models}
    each = {m: args.mutants // len(models) + (i < args.mutants % len(models)) for i, m in enumerate(models)}
    results = harness.run(recipes(models, each, tuple(args.kinds), args.seed), tuple(args.entries), args.jobs,
                          args.timeout, progress=True)
    print_tables(results)
    for o in results.findings[:50]:
        print(f"FINDING {o.outcome} {o.entry} {o.recipe.name} {o.recipe.kind} {o.recipe.seed}: {o.message[:300]}")
    if args.findings:
        args.findings.parent.mkdir(parents=True, exist_ok=True)
        args.findings.write_text(json.dumps([{**o.recipe.to_dict(), "entry": o.entry, "outcome": o.outcome,
                                              "message": o.message[:500]} for o in results.findings], indent=1))
    return 1 if results.findings else 0


if __name__ == "__main__":
    sys.exit(main())
