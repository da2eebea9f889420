"""Report plots (matplotlib, Agg backend, imported lazily): confusion matrices and per-class accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_report"]


def plot_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``confusion_matrix.png`` and ``per_class_accuracy.png`` into ``out_dir``; return their paths."""
    from edgeml._optional import require

    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot")
    # Fixed metadata so the same report renders to the same bytes.
    save = {"dpi": 100, "metadata": {"Software": None}}
    models, classes = report["models"], report["classes"]
    short = [c if len(c) <= 14 else c[:13] + "…" for c in classes]

    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4.4), squeeze=False)
    for ax, entry in zip(axes[0], models, strict=False):
        cm = np.asarray(entry["confusion_matrix"], dtype=np.float64)
        rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"{entry['name']}\ntop-1 {entry['top1_accuracy']:.1%}", fontsize=9)
        ax.set_xticks(range(len(classes)), short, rotation=90, fontsize=6)
        ax.set_yticks(range(len(classes)), short, fontsize=6)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    fig.tight_layout()
    cm_path = out_dir / "confusion_matrix.png"
    fig.savefig(cm_path, **save)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(classes) * len(models) / 2), 4))
    width = 0.8 / len(models)
    x = np.arange(len(classes))
    for i, entry in enumerate(models):
        values = [v if v is not None else 0.0 for v in entry["per_class_accuracy"]]
        ax.bar(x + i * width, values, width, label=entry["name"])
    ax.set_xticks(x + 0.4 - width / 2, short, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    bar_path = out_dir / "per_class_accuracy.png"
    fig.savefig(bar_path, **save)
    plt.close(fig)
    return [cm_path, bar_path]
