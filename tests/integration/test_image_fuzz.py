"""Image fuzzing in CI: a few hundred deterministic mutants of real photos (JPEG, PNG, GIF, TIFF, WebP, BMP), each
through Classifier.classify, an images: stream and `edgeml classify FILE`, in a child process. Every outcome is a
classification or an EdgemlError with a one-line message: no other exception, no signal, no hang.
`make fuzz-images` runs 10,000."""

from __future__ import annotations

import json
import random
from pathlib import Path

import PIL
import pytest

from tests.conftest import ROOT, run_cli
from tests.imagefuzz.corpus import SEEDS
from tests.imagefuzz.mutate import KINDS, fields, mutate
from tests.imagefuzz.run import Worker, fuzz, seeds_cache

pytest.importorskip("skimage", reason="the fuzz corpus is made from scikit-image's photos")
TINY = str(ROOT / "tests" / "data" / "tiny_int8.tflite")


def test_mutants_are_deterministic_and_every_format_has_header_fields():
    corpus = seeds_cache()
    assert set(corpus) == set(SEEDS)
    for name, data in corpus.items():
        assert len(list(fields(data))) >= 3, name
        for kind in KINDS:
            a = mutate(data, kind, random.Random(f"{name}:{kind}:7"))
            assert a == mutate(data, kind, random.Random(f"{name}:{kind}:7")) and a


def test_a_few_hundred_image_mutants_never_crash_hang_or_escape_edgeml_errors():
    report = fuzz(300, TINY, seed=0)
    print(report.table())
    print(report.summary())
    assert report.mutants == 300
    bad = {o: report.total(o) for o in ("other", "signal", "hang", "bad_message")}
    assert bad == dict.fromkeys(bad, 0), json.dumps(report.failures[:5], indent=1)
    for kind in KINDS:  # the mutants did something: some still decode, some are refused, through every entry
        for entry in ("classify", "stream", "cli"):
            counts = report.counts[kind, entry]
            assert counts["edgeml_error"] > 0, (kind, entry, counts)
    assert sum(report.counts[k, "classify"]["classified"] for k in KINDS) > 30


def test_the_harness_counts_a_signal_and_a_hang(tmp_path):
    with open(tmp_path / "stderr.txt", "w+b") as log:
        worker = Worker(TINY, tmp_path, log)
        assert worker.ask({"id": 0, "path": str(tmp_path / "x.png"), "entries": ["selftest-signal"]}, 30) == \
            "signal:SIGSEGV"
        worker = Worker(TINY, tmp_path, log)
        assert worker.ask({"id": 1, "path": str(tmp_path / "x.png"), "entries": ["selftest-hang"]}, 1.0) == "hang"


def test_mutants_through_the_real_command(tmp_path):
    """The same verdicts from `python -m edgeml classify` in its own process for a sample of mutants."""
    corpus = seeds_cache()
    paths = []
    for i, name in enumerate(sorted(corpus)[:10]):
        path = tmp_path / f"{i}-{name}"
        path.write_bytes(mutate(corpus[name], KINDS[i % len(KINDS)], random.Random(f"cli:{name}:{i}")))
        paths.append(str(path))
    proc = run_cli("classify", "-m", TINY, "--board", "none", "--json", *paths)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    classified = [json.loads(line)["path"] for line in proc.stdout.splitlines()]
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(classified) + len(errors) == len(paths)
    assert all(line.startswith("edgeml classify: error: ") and len(line) < 600 for line in errors)


CRASHERS = sorted((ROOT / "tests" / "data" / "image_crashers").iterdir())
# Pillow's own verdict on some of these files depends on its version (we declare Pillow >= 9.1) and on the
# distribution's security backports: file -> (the first upstream Pillow that refuses it, the (H, W, 3) shape that
# Pillows accepting it decode it to). The GIF's frame tile reaches past the image: pip's Pillow 9.1-12.1 decode the
# visible part, 12.2+ raise "tile cannot extend outside image"; Debian 13's python3-pil 11.1.0-5+deb13u4 has that
# fix backported and refuses it too. So the test asks the installed Pillow itself (_pillow_decodes), and holds the
# table to it where the table is certain: from the upstream version on, Pillow must refuse.
PILLOW = tuple(int(part) for part in PIL.__version__.split(".")[:2])
REFUSED_SINCE = {"ValueError-transparent-header-947.gif": ((12, 2), (64, 96, 3))}


def _pillow_decodes(path: Path) -> bool:
    """Whether the installed Pillow, called directly (not through edgeml), decodes ``path`` without an error."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                im.load()
    except Exception:
        return False
    return True


def _decodes_here(path: Path) -> tuple[int, int, int] | None:
    """The shape this Pillow decodes ``path`` to, for a file some Pillows accept; None where it is refused."""
    if path.name not in REFUSED_SINCE:
        return None
    since, shape = REFUSED_SINCE[path.name]
    accepts = _pillow_decodes(path)
    assert not (accepts and since <= PILLOW), f"Pillow {PIL.__version__} decodes {path.name}: REFUSED_SINCE is wrong"
    return shape if accepts else None


@pytest.mark.parametrize("path", CRASHERS, ids=[p.name for p in CRASHERS])
def test_a_file_the_fuzzer_found_escaping_is_an_image_error_now(path):
    """Found by the fuzzer before the fix (the name says what escaped: Pillow's SyntaxError, ValueError or
    DecompressionBombError, which ended CLI batches with "internal error" and streams with read failures).
    Where this Pillow accepts the file (REFUSED_SINCE), it is classified like any image instead."""
    from edgeml import Classifier
    from edgeml.errors import ImageError
    from edgeml.image.load import load_image

    if (shape := _decodes_here(path)) is not None:
        assert load_image(path).shape == shape
        assert len(Classifier(TINY).classify(path, top_k=1)) == 1
        return
    with pytest.raises(ImageError) as info:
        Classifier(TINY).classify(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value) and len(str(info.value)) < 500


def test_the_fuzzers_finds_in_a_stream_and_a_cli_batch(tmp_path, photos):
    import shutil

    from PIL import Image

    import edgeml

    for path in CRASHERS:
        shutil.copy(path, tmp_path / path.name)
    Image.fromarray(photos["chelsea"]).save(tmp_path / "zz_cat.png")
    s = edgeml.stream(f"images:{tmp_path}", edgeml.Classifier(TINY), top_k=1)
    results = list(s)
    accepted = sum(_decodes_here(path) is not None for path in CRASHERS)  # by this Pillow (REFUSED_SINCE)
    refused = len(CRASHERS) - accepted
    assert (s.stats.frames, s.stats.errors, s.stats.read_failures) == (1 + accepted, refused, 0)
    assert not results[-1].error
    proc = run_cli("classify", "-m", TINY, "--board", "none", *map(str, CRASHERS))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.stderr.count("edgeml classify: error: ") == refused == proc.stderr.count("\n")
    assert sum(not line.startswith(" ") for line in proc.stdout.splitlines()) == accepted  # a path line each
