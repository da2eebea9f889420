"""Coral Edge TPU support: offline compatibility check (``check``), delegate loading (``delegate``).

Nothing here imports the Edge TPU library at import time; ``libedgetpu.so.1`` is loaded only when a
:class:`~edgeml.Classifier` asks for an Edge TPU device.
"""

from __future__ import annotations
