"""How to install Coral's packages, written once: the apt repository, the runtime, the compiler.

Coral publishes ``libedgetpu1-std`` / ``-max`` (runtime, Debian/Ubuntu on x86-64 and arm64) and
``edgetpu-compiler`` (x86-64 only) from one apt repository; every message that names a fix quotes these.
"""

from __future__ import annotations

__all__ = ["ADD_REPOSITORY", "COMPILER", "RUNTIME"]

ADD_REPOSITORY = (
    'echo "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main" | sudo tee '
    "/etc/apt/sources.list.d/coral-edgetpu.list && curl https://packages.cloud.google.com/apt/doc/apt-key.gpg | "
    "sudo apt-key add - && sudo apt-get update"
)
RUNTIME = f"{ADD_REPOSITORY} && sudo apt-get install libedgetpu1-std (or libedgetpu1-max: faster, runs hot)"
COMPILER = (
    f"on an x86-64 Debian/Ubuntu host: {ADD_REPOSITORY} && sudo apt-get install edgetpu-compiler (or set "
    "EDGETPU_COMPILER=/path/to/edgetpu_compiler). On other hosts use Coral's Colab notebook "
    "(google-coral/tutorials compile_for_edgetpu.ipynb)."
)
