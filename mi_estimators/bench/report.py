"""Reports: tables (text / Markdown / CSV) and PNG plots of evaluation results, in nats.

- :func:`format_table` — a summary table (from :func:`mi_estimators.bench.sweep.score`)
  as aligned text for a terminal or as Markdown; the header says "nats".
- :func:`plot_bias_variance`, :func:`plot_estimate_vs_truth`, :func:`plot_error_vs_n`
  — the three standard figures of a benchmark; :func:`plot_staircase` — the
  Poole et al. (2019) / Song & Ermon (2020) figure (estimate vs training step, the truth
  as a staircase, one panel per estimator).
- :func:`write_report` — a results folder → ``report.md`` (or ``report.html``) with the
  tables, ``summary.csv`` and the PNGs.

matplotlib runs with the Agg backend (no display needed).
"""
from __future__ import annotations

import csv
import html
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from mi_estimators._checks import check_choice

__all__ = [
    "format_table",
    "write_summary_csv",
    "plot_bias_variance",
    "plot_estimate_vs_truth",
    "plot_error_vs_n",
    "plot_staircase",
    "write_report",
]

#: Columns of the printed summary table: (key, header).
TABLE_COLUMNS = (
    ("task", "task"),
    ("label", "estimator"),
    ("n", "n"),
    ("truth", "truth"),
    ("mean", "mean ± se"),
    ("bias", "bias ± se"),
    ("sd", "sd"),
    ("rmse", "RMSE"),
    ("runs", "runs"),
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _num(value, digits: int = 3) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(value):
        return "–"
    return f"{value:.{digits}f}"


def _pm(value, se, digits: int = 3) -> str:
    text = _num(value, digits)
    try:
        if not math.isnan(float(se)):
            text += f" ± {_num(se, digits)}"
    except (TypeError, ValueError):
        pass
    return text


def _cells(summary: Mapping) -> list[str]:
    cells = []
    for key, _ in TABLE_COLUMNS:
        if key == "mean":
            cells.append(_pm(summary["mean"], summary.get("se_mean")))
        elif key == "bias":
            cells.append(_pm(summary["bias"], summary.get("se_bias")))
        elif key in ("truth", "sd", "rmse"):
            cells.append(_num(summary.get(key)))
        elif key == "runs":
            failed = int(summary.get("failed", 0) or 0)
            cells.append(f"{summary['runs']}" + (f" ({failed} failed)" if failed else ""))
        else:
            cells.append(str(summary.get(key, "")))
    return cells


def format_table(summaries: Iterable[Mapping], fmt: str = "text") -> str:
    """The summary rows as an aligned text table (``fmt="text"``) or Markdown.

    Columns: task, estimator, n, truth, mean ± se, bias ± se, sd, RMSE, runs — all MI
    values in nats (the title line says so).
    """
    check_choice("table format", fmt, ["text", "markdown"])
    rows = [_cells(s) for s in sorted(summaries, key=lambda s: (str(s["task"]), int(s["n"]), str(s["label"])))]
    header = [h for _, h in TABLE_COLUMNS]
    title = "MI estimates in nats (mean ± standard error over seeds; bias = mean − truth)"
    if fmt == "markdown":
        lines = [f"*{title}*", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
    def line(cells):
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    out = [title, line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def write_summary_csv(summaries: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Write summary rows as CSV (all columns of :data:`~mi_estimators.bench.store.SUMMARY_COLUMNS`)."""
    from mi_estimators.bench.store import SUMMARY_COLUMNS, atomic_write_text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for s in summaries:
        writer.writerow([repr(v) if isinstance(v, float) else v for v in (s.get(c, "") for c in SUMMARY_COLUMNS)])
    atomic_write_text(path, buf.getvalue())
    return Path(path)


# --------------------------------------------------------------------------- plots
def _colors(labels: Sequence[str]) -> dict:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def _grid(n_panels: int, width: float = 4.2, height: float = 3.2):
    plt = _pyplot()
    cols = min(n_panels, 3)
    rows = math.ceil(n_panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def _save(fig, path) -> Path:
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    # atomically, like every result file: a temp file in the same folder, then os.replace
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


def _largest_n(summaries: Sequence[Mapping]) -> list[Mapping]:
    best: dict = {}
    for s in summaries:
        key = (s["task"], s["label"])
        if key not in best or int(s["n"]) > int(best[key]["n"]):
            best[key] = s
    return list(best.values())


def plot_bias_variance(summaries: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Bias per estimator, one panel per task (largest n): thin bar ± sd, thick ± 2 se."""
    summaries = _largest_n(summaries)
    tasks = sorted({s["task"] for s in summaries})
    labels = sorted({s["label"] for s in summaries})
    colors = _colors(labels)
    fig, axes = _grid(len(tasks))
    for ax, task in zip(axes, tasks):
        members = {s["label"]: s for s in summaries if s["task"] == task}
        for i, label in enumerate(labels):
            s = members.get(label)
            if s is None or not math.isfinite(float(s["bias"])):
                continue
            sd = float(s["sd"]) if math.isfinite(float(s["sd"])) else 0.0
            se = float(s["se_bias"]) if math.isfinite(float(s["se_bias"])) else 0.0
            ax.errorbar(i, float(s["bias"]), yerr=sd, fmt="none", ecolor=colors[label], elinewidth=1, capsize=4)
            ax.errorbar(i, float(s["bias"]), yerr=2 * se, fmt="o", color=colors[label], elinewidth=4)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right")
        ax.set_title(f"{task}\n(truth {float(next(iter(members.values()))['truth']):.3f} nats)", fontsize=9)
        ax.set_ylabel("bias (nats)")
    fig.suptitle("Bias ± sd across seeds (thin), ± 2 se (thick)", fontsize=10)
    return _save(fig, path)


def plot_estimate_vs_truth(summaries: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Mean estimate (± sd) against true MI: colour = estimator, marker = task; the line y = x."""
    plt = _pyplot()
    from matplotlib.lines import Line2D

    summaries = _largest_n(summaries)
    labels = sorted({s["label"] for s in summaries})
    tasks = sorted({s["task"] for s in summaries})
    markers = dict(zip(tasks, "osD^vP*Xhp<>" * (len(tasks) // 12 + 1)))
    colors = _colors(labels)
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    truths = [float(s["truth"]) for s in summaries]
    lo, hi = min(truths + [0.0]), max(truths + [1e-9])
    for j, label in enumerate(labels):
        shift = (j - (len(labels) - 1) / 2) * 0.012 * (hi - lo)  # dodge overlapping markers
        for s in summaries:
            if s["label"] != label or not math.isfinite(float(s["mean"])):
                continue
            sd = float(s["sd"]) if math.isfinite(float(s["sd"])) else 0.0
            ax.errorbar(float(s["truth"]) + shift, float(s["mean"]), yerr=sd, fmt=markers[s["task"]],
                        color=colors[label], capsize=3)
    ax.plot([lo, hi], [lo, hi], color="black", lw=1, ls="--")
    handles = [Line2D([], [], color=colors[lab], marker="o", ls="", label=lab) for lab in labels]
    handles += [Line2D([], [], color="black", ls="--", label="truth (y = x)")]
    handles += [Line2D([], [], color="grey", marker=markers[t], ls="", label=t) for t in tasks]
    ax.legend(handles=handles, fontsize=7, loc="upper left")
    ax.set_xlabel("true MI (nats)")
    ax.set_ylabel("estimate (nats)")
    ax.set_title("Estimate vs truth (mean ± sd over seeds; largest n)", fontsize=10)
    return _save(fig, path)


def plot_error_vs_n(summaries: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """RMSE against sample size n (log–log), one line per estimator, one panel per task."""
    tasks = sorted({s["task"] for s in summaries})
    labels = sorted({s["label"] for s in summaries})
    colors = _colors(labels)
    fig, axes = _grid(len(tasks))
    for ax, task in zip(axes, tasks):
        for label in labels:
            pts = sorted(
                (int(s["n"]), float(s["rmse"]))
                for s in summaries
                if s["task"] == task and s["label"] == label and math.isfinite(float(s["rmse"]))
            )
            if pts:
                ax.plot([p[0] for p in pts], [max(p[1], 1e-6) for p in pts], "o-", color=colors[label], label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sample size n")
        ax.set_ylabel("RMSE (nats)")
        ax.set_title(task, fontsize=9)
    if axes:
        axes[0].legend(fontsize=7)
    fig.suptitle("Error vs sample size", fontsize=10)
    return _save(fig, path)


def _moving_average(values: Sequence[float], window: int) -> list[float]:
    out, acc, buf = [], 0.0, []
    for v in values:
        buf.append(v)
        acc += v
        if len(buf) > window:
            acc -= buf.pop(0)
        out.append(acc / len(buf))
    return out


def plot_staircase(records: Sequence[Mapping], path: str | os.PathLike, *, smooth: int = 100) -> Path:
    """The staircase figure: estimate vs training step, truth as a staircase.

    ``records`` are rows with ``label``, ``step``, ``estimate`` and ``truth`` (nats);
    one panel per label, the raw estimate faint and its moving average (``smooth``
    steps) solid, the true MI in black; the y axis spans [-1, 1.3 max(truth) + 1] nats.
    """
    labels = list(dict.fromkeys(r["label"] for r in records))
    colors = _colors(labels)
    fig, axes = _grid(len(labels), width=4.0, height=3.0)
    ymax = max(float(r["truth"]) for r in records) * 1.3 + 1.0
    for ax, label in zip(axes, labels):
        pts = sorted((int(r["step"]), float(r["estimate"]), float(r["truth"])) for r in records if r["label"] == label)
        steps = [p[0] for p in pts]
        est = [p[1] if math.isfinite(p[1]) else math.nan for p in pts]
        ax.plot(steps, est, color=colors[label], alpha=0.3, lw=0.7)
        finite = [e if math.isfinite(e) else 0.0 for e in est]
        ax.plot(steps, _moving_average(finite, max(1, smooth)), color=colors[label], lw=1.5)
        ax.step(steps, [p[2] for p in pts], where="post", color="black", lw=1.2)
        ax.set_ylim(-1.0, ymax)  # as in the papers: high-variance spikes (NWJ) leave the frame
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("training step")
        ax.set_ylabel("MI (nats)")
    return _save(fig, path)


# --------------------------------------------------------------------------- full report
def _md_to_html(markdown: str) -> str:
    """A tiny Markdown → HTML conversion for the report's own constructs."""
    out, table = [], []

    def flush():
        if table:
            head, body = table[0], table[2:]
            cells = lambda r: [c.strip() for c in r.strip().strip("|").split("|")]
            out.append("<table>")
            out.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cells(head)) + "</tr>")
            for r in body:
                out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells(r)) + "</tr>")
            out.append("</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            out.append(f'<p><img src="{html.escape(src.rstrip(")"))}" alt="{html.escape(alt)}"></p>')
        elif line.strip():
            out.append(f"<p>{html.escape(line.strip('*'))}</p>")
    flush()
    style = "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>mi-bench report</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n"
    )


def write_report(results: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str = "markdown") -> Path:
    """Write a report of a results folder (``mi-bench run``'s output) and return its path.

    Writes into ``out`` (default ``results/report``): ``summary.csv``, the PNGs
    ``bias_variance.png``, ``estimate_vs_truth.png``, ``error_vs_n.png`` (when the
    results hold more than one sample size) and ``report.md`` (``fmt="markdown"``) or
    ``report.html`` (``fmt="html"``), with the estimators' warnings and the failed runs.
    """
    from mi_estimators.bench.store import atomic_write_text, load_runs
    from mi_estimators.bench.sweep import score

    check_choice("report format", fmt, ["markdown", "html"])
    results = Path(results)
    if not (results / "runs").is_dir():
        raise ValueError(f"{str(results)!r} is not a results folder (no runs/ inside); make one with `mi-bench run`")
    rows = load_runs(results)
    if not rows:
        raise ValueError(f"results folder {str(results)!r} has no finished runs yet")
    out = Path(out) if out is not None else results / "report"
    out.mkdir(parents=True, exist_ok=True)
    summaries = score(rows)
    write_summary_csv(summaries, out / "summary.csv")
    plots = {
        "Bias and variance per estimator": plot_bias_variance(summaries, out / "bias_variance.png"),
        "Estimate vs truth": plot_estimate_vs_truth(summaries, out / "estimate_vs_truth.png"),
    }
    if len({s["n"] for s in summaries}) > 1:  # one sample size makes no curve
        plots["Error vs sample size"] = plot_error_vs_n(summaries, out / "error_vs_n.png")
    failed = [r for r in rows if r.get("status") != "ok"]
    lines = [
        f"# mi-bench report: {results.name}",
        "",
        f"{len(rows)} runs ({len(failed)} failed), {len({r['task'] for r in rows})} tasks, "
        f"{len({r['label'] for r in rows})} estimators. All values in nats.",
        "",
        "## Summary",
        "",
        format_table(summaries, fmt="markdown"),
    ]
    for title, png in plots.items():
        lines += [f"## {title}", "", f"![{title}]({png.name})", ""]
    warned = [r for r in rows if r.get("warnings")]
    if warned:
        lines += ["## Estimator warnings", ""]
        for message in dict.fromkeys(f"{r['label']} on {r['task']}: {r['warnings']}" for r in warned):
            lines.append(f"- {message}")
        lines.append("")
    if failed:
        lines += ["## Failed runs", "", "| run_id | task | estimator | error |", "|---|---|---|---|"]
        lines += [f"| {r['run_id']} | {r['task']} | {r['label']} | {str(r['error']).replace('|', '/')} |" for r in failed]
        lines.append("")
    text = "\n".join(lines)
    if fmt == "html":
        path = out / "report.html"
        atomic_write_text(path, _md_to_html(text))
    else:
        path = out / "report.md"
        atomic_write_text(path, text)
    return path
