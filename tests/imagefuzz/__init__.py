"""A deterministic mutation fuzzer over real image files, run in child processes so a crash is counted, not fatal.

- :mod:`~tests.imagefuzz.corpus`: seed files (JPEG, PNG, GIF, TIFF, WebP, BMP) written by Pillow from
  scikit-image's photos;
- :mod:`~tests.imagefuzz.mutate`: truncation, bit flips, header-field corruption (format-aware), range
  duplication and zeroing; mutant ``i`` of a seed is the same bytes on every run;
- :mod:`~tests.imagefuzz.worker`: the child process: each mutant through ``Classifier.classify(path)``, an
  ``images:`` stream and ``edgeml classify FILE``;
- :mod:`~tests.imagefuzz.run`: the parent: feeds mutants to a worker, restarts it after a signal or a hang,
  classifies every outcome and prints the table (``python -m tests.imagefuzz --help``; ``make fuzz-images``).
"""
