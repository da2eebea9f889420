"""``edgeml convert --target edgetpu``: the offline check, then ``edgetpu_compiler`` where it is installed.

- :mod:`~edgeml_converters.edgetpu.target`: :func:`target_edgetpu`, check → refuse or warn → compile;
- :mod:`~edgeml_converters.edgetpu.compiler`: finding and running ``edgetpu_compiler``;
- :mod:`~edgeml_converters.edgetpu.log`: parsing what the compiler prints and writes.
"""

from __future__ import annotations

from edgeml_converters.edgetpu.target import EdgeTpuTarget, target_edgetpu

__all__ = ["EdgeTpuTarget", "target_edgetpu"]
