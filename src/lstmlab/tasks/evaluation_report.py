"""Evaluation report from a confusion matrix (tags, classes): accuracy, per-label precision/recall/F1, a PNG heatmap."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def per_tag_scores(confusion: torch.Tensor, tags: list[str]) -> list[dict]:
    """Rows of confusion are gold tags, columns predicted tags."""
    confusion = confusion.double()
    correct = confusion.diag()
    gold = confusion.sum(1)
    predicted = confusion.sum(0)
    rows = []
    for index, tag in enumerate(tags):
        precision = (correct[index] / predicted[index]).item() if predicted[index] else 0.0
        recall = (correct[index] / gold[index]).item() if gold[index] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"tag": tag, "precision": precision, "recall": recall, "f1": f1, "support": int(gold[index])})
    return sorted(rows, key=lambda row: -row["support"])


def format_table(rows: list[dict]) -> str:
    width = max([8, *(len(r["tag"]) + 2 for r in rows)])  # tags are short, NLI classes are words
    lines = [f"{'tag':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for r in rows:
        lines.append(f"{r['tag']:<{width}}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}"
                     f"{r['support']:>10}")
    return "\n".join(lines)


def plot_confusion(confusion: torch.Tensor, tags: list[str], path: Path) -> None:
    """Row-normalised heatmap (share of each gold tag predicted as each tag), counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = confusion.double()
    shares = counts / counts.sum(1, keepdim=True).clamp_min(1)
    size = max(6.0, 0.45 * len(tags))
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(tags)), tags, rotation=90)
    axis.set_yticks(range(len(tags)), tags)
    axis.set_xlabel("predicted")
    axis.set_ylabel("gold")
    if len(tags) <= 30:
        for gold in range(len(tags)):
            for predicted in range(len(tags)):
                if counts[gold, predicted]:
                    colour = "white" if shares[gold, predicted] > 0.5 else "black"
                    axis.text(predicted, gold, int(counts[gold, predicted]), ha="center", va="center",
                              fontsize=6, color=colour)
    figure.colorbar(image, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(output_dir: Path, confusion: torch.Tensor, tags: list[str], metrics: dict, source: dict) -> dict:
    """Write report.json, per_tag.txt and confusion_matrix.png; return the report."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = per_tag_scores(confusion, tags)
    total = int(confusion.sum())
    report = {
        **source,
        "tokens": total,
        "accuracy": float(confusion.diag().sum() / max(total, 1)),
        "loss": metrics.get("test/loss"),
        "per_tag": rows,
        "confusion": {"tags": tags, "matrix": confusion.long().tolist()},
    }
    (output_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (output_dir / "per_tag.txt").write_text(format_table(rows) + "\n", encoding="utf-8")
    plot_confusion(confusion, tags, output_dir / "confusion_matrix.png")
    return report
