"""Write an evaluation to disk: ``metrics.json``, ``report.md`` and ``pr_at_k.png``.

Input is the flat metrics dict from :func:`training.metrics.score` (keys
``{subset}_{resolution}_{metric}``), the run's config and optionally the
:func:`training.metrics.error_breakdown` counts. Output is deterministic: no timestamps, sorted
JSON keys, numbers with 3 decimals in the Markdown, and a PNG without date metadata.
matplotlib is an optional dependency (the ``train`` extra) imported only when writing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
FIGURE_FILE = "pr_at_k.png"

HEADLINE_SUBSETS = ("all", "unseen", "seen")
HEADLINE_RESOLUTIONS = ("exact", "exact_lenient", "category", "chapter")
TABLE_RESOLUTIONS = ("exact", "category")
PLOT_RESOLUTIONS = ("exact", "category", "chapter")
PLOT_SUBSETS = ("all", "unseen")
_MISSING = "–"


def _fmt(value: Any) -> str:
    """Format a number with 3 decimals (integers as integers); missing as a dash."""
    if value is None:
        return _MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _count(value: Any) -> str:
    return _MISSING if value is None else str(int(value))


def _cutoffs(metrics: Mapping[str, float]) -> list[int]:
    """The k values present as ``all_exact_p@k`` keys, ascending (1..10 when absent)."""
    pattern = re.compile(r"^all_exact_p@(\d+)$")
    ks = sorted(int(m.group(1)) for key in metrics if (m := pattern.match(key)))
    return ks or list(range(1, 11))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(
    metrics: Mapping[str, float],
    *,
    title: str,
    config: Mapping[str, Any],
    breakdown: Mapping[str, int] | None = None,
) -> str:
    """Render the evaluation as a Markdown document.

    Args:
        metrics: Flat metrics from :func:`training.metrics.score`.
        title: The report's H1 title.
        config: The run's configuration, shown as sorted JSON.
        breakdown: Optional error-class counts from :func:`training.metrics.error_breakdown`.

    Returns:
        The Markdown text (headline table, P@k/R@k table, config, error breakdown).

    Example:
        ``text = render_markdown(score(results, chapter_of), title="dev bm25", config=cfg)``
    """
    lines = [f"# {title}", "", "## Headline", ""]
    header = ["subset", "n"]
    for resolution in HEADLINE_RESOLUTIONS:
        header += [f"{resolution} top-1", f"{resolution} MAP@10"]
    header += ["unreachable", "empty rate", "p50 ms", "p95 ms"]
    rows = []
    for subset in HEADLINE_SUBSETS:
        if f"{subset}_n" not in metrics:
            continue
        row = [subset, _count(metrics.get(f"{subset}_n"))]
        for resolution in HEADLINE_RESOLUTIONS:
            row.append(_fmt(metrics.get(f"{subset}_{resolution}_top1")))
            row.append(_fmt(metrics.get(f"{subset}_{resolution}_map@10")))
        row.append(_count(metrics.get(f"{subset}_exact_unreachable")))
        row += [
            _fmt(metrics.get(f"{subset}_empty_rate")),
            _fmt(metrics.get(f"{subset}_latency_p50_ms")),
            _fmt(metrics.get(f"{subset}_latency_p95_ms")),
        ]
        rows.append(row)
    lines += _table(header, rows)
    lines += [
        "",
        "top-1 = ranked[0] matches the gold code; MAP@10 = reciprocal rank of the first match "
        "within the top 10. Category and chapter lists are deduplicated before ranking. "
        "`exact_lenient` lets a 7th-character child match a gold code that lacks it; "
        "unreachable = mentions whose gold code is not a valid ICD-10-CM code.",
        "",
        "## P@k and R@k",
        "",
    ]

    header = ["k"]
    for subset in PLOT_SUBSETS:
        for resolution in TABLE_RESOLUTIONS:
            header += [f"{subset} {resolution} P@k", f"{subset} {resolution} R@k"]
    rows = []
    for k in _cutoffs(metrics):
        row = [str(k)]
        for subset in PLOT_SUBSETS:
            for resolution in TABLE_RESOLUTIONS:
                row.append(_fmt(metrics.get(f"{subset}_{resolution}_p@{k}")))
                row.append(_fmt(metrics.get(f"{subset}_{resolution}_r@{k}")))
        rows.append(row)
    lines += _table(header, rows)

    lines += [
        "",
        "## Config",
        "",
        "```json",
        json.dumps(dict(config), sort_keys=True, indent=2, default=str),
        "```",
    ]

    if breakdown is not None:
        total = sum(breakdown.values())
        lines += ["", "## Top-1 errors at exact level", ""]
        rows = [
            [name, str(count), _fmt(count / total if total else 0.0)]
            for name, count in breakdown.items()
        ]
        rows.append(["total", str(total), _fmt(1.0 if total else 0.0)])
        lines += _table(["error class", "count", "share"], rows)
    return "\n".join(lines) + "\n"


def confidence_tables(levels: list[dict], reliability: Mapping[str, Any]) -> list[str]:
    """Markdown lines: how often the top result is right per named level, then per bin of
    stated confidence (``training.metrics.by_level`` and ``reliability``)."""
    lines = ["| level | stated from | share of mentions | top result right |", "|---|---|---|---|"]
    for level in levels:
        right = "" if level["right"] is None else f"{level['right']:.3f}"
        lines.append(f"| {level['level']} | {level['from']} | {level['share']:.3f} | {right} |")
    lines += ["", "| stated | n | mean stated | right |", "|---|---|---|---|"]
    for b in reliability["bins"]:
        lines.append(f"| {b['from']}–{b['to']} | {b['n']} | {b['stated']} | {b['right']} |")
    return lines


def plot_pr_at_k(metrics: Mapping[str, float], path: Path) -> Path:
    """Draw P@k and R@k curves (exact, category, chapter; all and unseen) to a PNG.

    Args:
        metrics: Flat metrics from :func:`training.metrics.score`.
        path: Where to write the PNG.

    Returns:
        ``path``.

    Raises:
        ImportError: If matplotlib is not installed.

    Example:
        ``plot_pr_at_k(score(results, chapter_of), Path("runs/dev/pr_at_k.png"))``
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            'matplotlib is needed to draw pr_at_k.png: pip install -e ".[train]"'
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = _cutoffs(metrics)
    colors = {"all": "tab:blue", "unseen": "tab:orange"}
    styles = {"p": ("-", "o", "P@k"), "r": ("--", "s", "R@k")}
    fig, axes = plt.subplots(1, len(PLOT_RESOLUTIONS), figsize=(13, 4), sharey=True)
    try:
        for ax, resolution in zip(axes, PLOT_RESOLUTIONS, strict=True):
            for subset in PLOT_SUBSETS:
                for kind, (linestyle, marker, label) in styles.items():
                    values = [metrics.get(f"{subset}_{resolution}_{kind}@{k}") for k in ks]
                    if any(v is None for v in values):
                        continue
                    ax.plot(
                        ks,
                        values,
                        linestyle=linestyle,
                        marker=marker,
                        color=colors[subset],
                        label=f"{subset} {label}",
                    )
            ax.set_title(resolution)
            ax.set_xlabel("k")
            ax.set_xticks(ks)
            ax.set_ylim(0.0, 1.05)
            ax.grid(True, alpha=0.3)
        axes[0].set_ylabel("score")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(labels) or 1, fontsize="small")
        fig.tight_layout(rect=(0.0, 0.08, 1.0, 1.0))
        fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def write_report(
    metrics: dict[str, float],
    out_dir: Path,
    *,
    title: str,
    config: dict,
    breakdown: dict | None = None,
) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md`` and ``pr_at_k.png`` into ``out_dir``.

    Args:
        metrics: Flat metrics from :func:`training.metrics.score`.
        out_dir: Output folder (created when missing; existing files are overwritten).
        title: Report title (also stored in the JSON).
        config: The run's configuration (JSON-serialisable; other values are written as str).
        breakdown: Optional error-class counts from :func:`training.metrics.error_breakdown`.

    Returns:
        ``{"metrics": .../metrics.json, "report": .../report.md, "figure": .../pr_at_k.png}``.

    Raises:
        ImportError: If matplotlib is missing (``pip install -e ".[train]"``); nothing is
            written in that case.

    Example:
        ``write_report(score(results, chapter_of), Path("runs/dev"), title="dev", config=cfg)``
    """
    try:
        import matplotlib  # noqa: F401  (fail before writing anything)
    except ImportError as exc:
        raise ImportError(
            'matplotlib is needed to write an evaluation report: pip install -e ".[train]"'
        ) from exc

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": out_dir / METRICS_FILE,
        "report": out_dir / REPORT_FILE,
        "figure": out_dir / FIGURE_FILE,
    }
    payload = {"title": title, "metrics": metrics, "config": config, "breakdown": breakdown}
    paths["metrics"].write_text(
        json.dumps(payload, sort_keys=True, indent=2, default=str) + "\n", encoding="utf-8"
    )
    paths["report"].write_text(
        render_markdown(metrics, title=title, config=config, breakdown=breakdown),
        encoding="utf-8",
    )
    plot_pr_at_k(metrics, paths["figure"])
    logger.info("wrote evaluation report %r to %s", title, out_dir)
    return paths
