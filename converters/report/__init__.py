"""The accuracy report of a conversion: float vs every written model on a labelled folder, as JSON, Markdown, plots.

- :mod:`~edgeml_converters.report.accuracy`: :func:`eval_set` and :func:`write_report`;
- :mod:`~edgeml_converters.report.plots`: confusion matrices and per-class accuracy (matplotlib, lazily).
"""

from __future__ import annotations

from edgeml_converters.report.accuracy import eval_set, tied_disagreements, write_report

__all__ = ["eval_set", "tied_disagreements", "write_report"]
