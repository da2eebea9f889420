# edgeml — two commands on a fresh Debian/Ubuntu machine:  make demo  |  make test
# Both set themselves up: Debian packages with real data (apt, needs root or sudo) and a venv in .venv.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BUILD  := build
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages holding the real data the tests and demo use (Fashion-MNIST; photos + street video), and the
# real parts the sink and kiosk tests start on 127.0.0.1 (an MQTT broker; a headless browser and its driver).
# Also Raspberry Pi OS Bookworm's own Python stack (it is Debian 12's): apt's numpy, Pillow and OpenCV under the
# system python3, on which test-bookworm runs the runtime suite as a Pi user installs it.
APT_PACKAGES := dataset-fashion-mnist opencv-doc mosquitto chromium chromium-driver \
                python3-venv python3-numpy python3-pil python3-opencv
APT_MARKERS  := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
                /usr/share/doc/opencv-doc/examples/data/vtest.avi /usr/sbin/mosquitto /usr/bin/chromium \
                /usr/bin/chromedriver /usr/share/doc/python3-venv /usr/share/doc/python3-numpy \
                /usr/share/doc/python3-pil /usr/share/doc/python3-opencv

STREAM_MODEL ?= $(BUILD)/models/efficientnet_lite0/efficientnet_lite0_int8.tflite

.PHONY: demo transfer test docs test-bookworm test-lowest test-pythons wheel picamera2-dists test-mediapipe test-trixie test-arm64 lint typecheck check clean system-deps venv bench \
        bench-stream fuzz bench-verify soak fuzz-images bench-learn bench-search bench-store test-kills bench-fleet bench-budgets

demo: venv system-deps
	$(PY) examples/demo.py --build $(BUILD)/demo

# Transfer learning vs the seed's from-scratch dense model on 500 Fashion-MNIST images (figures, not a test).
# TRANSFER_ARGS="--per-class 500 --fine-tune --epochs 12" trains the 5,000-image model the README quotes (~10 min).
TRANSFER_ARGS ?=
transfer: venv system-deps
	$(PY) examples/transfer_vs_scratch.py --build $(BUILD)/experiments/transfer $(TRANSFER_ARGS)

# Lint (ruff), types (mypy) and the docs site first (seconds; a failure, a broken link, anchor or docstring stops the
# run before the long part), then the full suite in the host venv (TensorFlow, newest libraries), then the device
# runtime's suite where devices run it: Raspberry Pi OS Bookworm's own Python stack, and the lowest versions we
# declare.
test: venv lint typecheck docs system-deps picamera2-dists
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-bookworm test-lowest

# The docs site (mkdocs.yml, pages in docs/, the API reference from the docstrings) into $(BUILD)/site; --strict
# turns every warning (a link or anchor that leads nowhere, a docstring naming a parameter that does not exist) into
# a failure. NO_MKDOCS_2_WARNING quiets mkdocs-material's notice about its successor.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir $(BUILD)/site

# The wheel a device installs, built from a copy of the tree (setuptools leaves build/ and egg-info behind).
wheel: venv
	rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist/src
	cp pyproject.toml README.md $(BUILD)/dist/src/ && cp -r edgeml converters boards $(BUILD)/dist/src/
	find $(BUILD)/dist/src -name __pycache__ -prune -exec rm -rf {} +
	$(PY) -m pip wheel --no-deps --no-build-isolation -w $(BUILD)/dist $(BUILD)/dist/src > $(BUILD)/dist/build.log \
	  2>&1 || { cat $(BUILD)/dist/build.log; exit 1; }

# The real picamera2 (pure Python; it needs libcamera to import), read with ast by the double's contract test:
# the lowest version the [picamera] extra declares and the newest.
PICAMERA2_VERSIONS := 0.3.17 0.3.38
PICAMERA2_DISTS    := $(BUILD)/picamera2
picamera2-dists: $(PICAMERA2_DISTS)/.downloaded
$(PICAMERA2_DISTS)/.downloaded:
	for v in $(PICAMERA2_VERSIONS); do $(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: \
	  -d $(PICAMERA2_DISTS) picamera2==$$v 2>&1 | grep -v "is ignored: it is neither"; \
	  ls $(PICAMERA2_DISTS)/picamera2-$$v-*.whl >/dev/null || exit 1; done
	touch $@

# Raspberry Pi OS Bookworm's stack: /usr/bin/python3 (3.11.2), apt's numpy 1.24.2, Pillow 9.4.0, OpenCV 4.6.0, a
# --system-site-packages venv, the README's install line; fails if the install replaced any of them
# (tests/platforms/stack.sh). Runs the runtime suite on the models the full run cached in build/.
test-bookworm: system-deps wheel
	bash tests/platforms/stack.sh $$(ls $(BUILD)/dist/edgeml-*.whl) $(BUILD)/pios/venv bookworm

# pip ranges on the other declared Pythons (noxfile.py): the lowest versions we declare on 3.10 (in make test), and
# the newest on 3.12 and 3.13 plus the no-OpenCV device install (make test-pythons). Interpreters from pyenv.
space := $() $()
PYENV_BINS := $(subst $(space),:,$(wildcard $(HOME)/.pyenv/versions/3.1[0-3].*/bin))
NOX := PATH="$(PYENV_BINS):$$PATH" $(PY) -m nox --no-error-on-missing-interpreters
test-lowest: venv wheel
	$(NOX) -s lowest
test-pythons: venv wheel
	$(NOX) -s lowest newest no_opencv

# Optional interop check, not part of `make test`: MediaPipe Tasks' ImageClassifier reads a model we wrote and
# returns our top-1. mediapipe pulls opencv-contrib-python (clashes with headless), so it gets its own venv.
MEDIAPIPE_VENV := build/mediapipe-venv
test-mediapipe: venv system-deps $(MEDIAPIPE_VENV)/.installed
	$(PY) -m pytest -p no:cacheprovider -m optional tests/optional

$(MEDIAPIPE_VENV)/.installed:
	$(PYTHON) -m venv $(MEDIAPIPE_VENV)
	$(MEDIAPIPE_VENV)/bin/pip install --quiet "mediapipe>=0.10.14" numpy
	touch $@

# The same stack test (tests/platforms/stack.sh) in Debian roots made with debootstrap (tests/platforms/root.sh;
# needs root): Raspberry Pi OS Trixie's stack (Debian 13: Python 3.13, apt numpy 2.x, OpenCV 4.10), and Bookworm's
# on aarch64 (the Pi's architecture) under qemu-user. Roots are made once into build/roots and reused. Not in make
# test (CI's budget): the closing notes of issue 26 give their times. ARM64_ARGS limits the arm64 run, e.g. a smoke
# subset: make test-arm64 ARM64_ARGS="tests/integration/test_classifier.py"
ROOTS := $(BUILD)/roots
# Deselected under emulation only (boards/README.md): the one-line-stderr contracts, which LiteRT's "Error in cpuinfo:
# ..." lines break when it finds no Arm /sys, and two serve tests whose 30 s / 1 s bounds a 10x slower CPU misses.
ARM64_DESELECT := $(foreach t,\
  integration/test_classifier.py::test_cli_keeps_going_past_a_file_that_is_not_an_image \
  integration/test_cli_arguments.py::test_a_failure_is_one_line_and_exit_1 \
  integration/test_image_fuzz.py::test_the_fuzzers_finds_in_a_stream_and_a_cli_batch \
  integration/test_stream_faults.py::test_the_cli_batch_goes_on_past_a_bomb \
  integration/test_serve_http.py::test_a_stuck_event_client_does_not_slow_the_stream \
  integration/test_serve_http.py::test_a_finite_source_that_ends_fails_readyz_and_the_rest_api_goes_on,\
  --deselect tests/$(t))
ARM64_ARGS ?=
test-trixie: wheel
	bash tests/platforms/root.sh trixie amd64 $(ROOTS)/trixie trixie
test-arm64: wheel
	STACK_PYTEST_ARGS="$(ARM64_DESELECT) $(ARM64_ARGS)" bash tests/platforms/root.sh bookworm arm64 $(ROOTS)/arm64-bookworm arm64

# Benchmarks are not tests: figures go to stdout and $(BUILD)/bench/, never into a pass/fail. Three runs: OpenCV,
# without OpenCV (numpy resize), and OpenCV again switching pipelines every frame instead of every 10 frames
# (each pipeline then also pays for the caches the others evicted).
# `make bench BENCH_MODEL=other.tflite BENCH_ARGS="--frame 1280x720 --threads 4"` to measure something else.
BENCH_MODEL ?= $(BUILD)/models/efficientnet_lite0/efficientnet_lite0_int8.tflite
BENCH_ARGS  ?= --frame 640x480 --threads 2 --iterations 1000 --rounds 10
bench: venv $(BENCH_MODEL)
	@mkdir -p $(BUILD)/bench
	$(PY) -m edgeml bench $(BENCH_MODEL) $(BENCH_ARGS) --save $(BUILD)/bench/results.jsonl > $(BUILD)/bench/opencv.txt
	@cat $(BUILD)/bench/opencv.txt
	$(PY) -m edgeml bench $(BENCH_MODEL) $(BENCH_ARGS) --save $(BUILD)/bench/results.jsonl --no-opencv \
	  > $(BUILD)/bench/no-opencv.txt
	@cat $(BUILD)/bench/no-opencv.txt
	$(PY) -m edgeml bench $(BENCH_MODEL) $(BENCH_ARGS) --save $(BUILD)/bench/results.jsonl --block 1 \
	  > $(BUILD)/bench/per-frame-alternation.txt
	@cat $(BUILD)/bench/per-frame-alternation.txt

$(BUILD)/models/efficientnet_lite0/efficientnet_lite0_int8.tflite:
	$(PY) -m edgeml convert efficientnet-lite0 --output $(BUILD)/models/efficientnet_lite0

# Streaming throughput vs bare invoke (synthetic, a 320x240 MJPG video, vtest.avi), CPU split, RSS over 20k frames.
bench-stream: venv system-deps $(STREAM_MODEL)
	$(PY) benchmarks/stream.py --model $(STREAM_MODEL) --build $(BUILD)/bench

# Mutation fuzzing of model files (tests/fuzz): FUZZ_MUTANTS mutants of the real models `make test` builds, each
# through Classifier(...).classify, edgeml inspect and edgeml edgetpu check in worker processes; a table per
# mutation kind, entry point and model. Fails on any signal, hang, stray exception or multi-line/long message.
FUZZ_MUTANTS ?= 10000
FUZZ_ARGS    ?=
fuzz: venv
	$(PY) -m tests.fuzz --mutants $(FUZZ_MUTANTS) --findings $(BUILD)/fuzz/findings.json $(FUZZ_ARGS)

# The model verifier's cost against Classifier(...) construction (EfficientNet-Lite0, MobileNetV2, Fashion CNN).
bench-verify: venv
	$(PY) benchmarks/verify.py

# The time budgets the unit tests once asserted (import, the sinks' submit and close, the event hub, metadata bombs,
# oversized labels), each figure beside its old budget; the tests keep what does not depend on speed.
bench-budgets: venv
	$(PY) benchmarks/budgets.py

# 100,000 frames through `edgeml classify --source synthetic` and vtest.avi looped, RSS sampled (figures, not a
# test). The small tiny_int8 model keeps the interpreter out of the way: the soak is of the loop, not the model.
SOAK_MODEL ?= tests/data/tiny_int8.tflite
SOAK_ARGS  ?= --frames 100000
soak: venv system-deps
	$(PY) benchmarks/soak.py --model $(SOAK_MODEL) $(SOAK_ARGS) --build $(BUILD)/bench

# Image mutation fuzzing in child processes (CI runs a few hundred in tests/integration/test_image_fuzz.py):
# every outcome counted per mutation kind, format and entry point; exit 1 on any signal, hang or non-EdgemlError.
FUZZ_IMAGES_ARGS ?= --mutants 10000
fuzz-images: venv
	$(PY) -m tests.imagefuzz $(FUZZ_IMAGES_ARGS) --save $(BUILD)/fuzz-images/failed --json $(BUILD)/fuzz-images/report.json

# On-device learning (Fashion-MNIST few-shot accuracy, exported model vs numpy head, time to add a class and to
# export) on the int8 EfficientNet-Lite0 embedding model at 160 px, and similarity search at 10k/100k/1M vectors.
EMBEDDING_MODEL ?= $(BUILD)/models/embedding/efficientnet_lite0_embedding_int8.tflite
$(EMBEDDING_MODEL):
	$(PY) -m edgeml convert efficientnet-lite0 --embedding --input-size 160x160 --output $(dir $@)

bench-learn: venv system-deps $(EMBEDDING_MODEL)
	@mkdir -p $(BUILD)/bench
	$(PY) benchmarks/fewshot.py --model $(EMBEDDING_MODEL) --save $(BUILD)/bench/fewshot.json
	$(PY) benchmarks/learn_time.py --model $(EMBEDDING_MODEL)

bench-search: venv
	@mkdir -p $(BUILD)/bench
	$(PY) benchmarks/search.py --save $(BUILD)/bench/search.jsonl

# The model store: what an install's checks cost (signature, hashes, verifier, probe) and the hot swap's largest
# gap between results on a video stream against the median interval.
bench-store: venv system-deps
	$(PY) benchmarks/store.py
	$(PY) benchmarks/store_swap.py

# Results leaving the device: frames/s with and without --output (jsonl, mqtt to a local mosquitto), and the
# events/s the MQTT outbox sustains.
bench-fleet: venv system-deps $(STREAM_MODEL)
	$(PY) benchmarks/fleet.py --model $(STREAM_MODEL)
	$(PY) benchmarks/fleet_outbox.py

# Power loss, more of it than CI runs: SIGKILL `models install` and `activate` at every step and after
# KILLS random delays each (the default suite does 12 each).
KILLS ?= 60
test-kills: venv
	EDGEML_KILLS=$(KILLS) $(PY) -m pytest -q -s -p no:cacheprovider tests/integration/test_store_kills.py

lint: venv
	$(PY) -m ruff check edgeml converters tests benchmarks examples

typecheck: venv
	$(PY) -m mypy edgeml converters benchmarks examples

check: test  # kept for habit: make test lints and type-checks first

# The extras the venv holds (the README quotes this install line). The stamp's name carries them, so an existing
# venv is brought up to date when the list changes here, as when pyproject.toml changes; CI caches .venv and build/.
comma       := ,
VENV_EXTRAS := convert,opencv,dev,pretrained,store,ann,mqtt,serve,docs
VENV_STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(VENV_EXTRAS))

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(VENV_EXTRAS)]"
	rm -f $(VENV)/.installed $(VENV)/.installed-* && touch $@

system-deps:
	@missing=""; for f in $(APT_MARKERS); do [ -e "$$f" ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

# The debootstrapped roots may still have /proc or /dev bound in (an interrupted run): unmount first, and never let
# rm cross into another file system.
clean:
	-findmnt -rn -o TARGET | grep "^$(abspath $(BUILD))/" | sort -r | xargs -r $(SUDO) umount
	rm -rf --one-file-system $(BUILD) .pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV)
