"""Tables, the bias allowance and the figure of benchmarks/phi_accuracy.py (issue 22, item 4)."""
from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
from scipy import stats

import _phi_tasks
from phi_accuracy import load

T19 = float(stats.t.ppf(0.975, 19))      # the plug-in's interval: jackknife se with 20 groups
TARGET5 = ("kl", "hellinger", "js", "tv", "vlc")


def _truths(rows):
    return {(r["task"], r["div"]): _phi_tasks.truth(r["task"], r["div"])[0] for r in rows}


def _kind(task):
    return "gaussian" if task.startswith("gaussian") else "mixture"


def plugin_runs(rows, form_of, hf):
    """{div: [(task, seed, mi, lo, hi)]} of the plug-in in the form ``form_of(div)`` at held-out fraction hf."""
    out = defaultdict(list)
    for r in rows:
        if r["est"] == "phi-plugin" and r["hf"] == hf and r["form"] == form_of(r["div"]):
            out[r["div"]].append((r["task"], r["seed"], r["mi"], r["mi"] - T19 * r["se"], r["mi"] + T19 * r["se"]))
    return out


def calibrate(runs, truths, level=0.95, grid=0.02):
    """Smallest (down, up) fractions of |I| (grid 0.02, least down + up) that bring the
    widened intervals' coverage to ``level``."""
    need = np.array([(max(0.0, (lo - truths[(t, d)]) / abs(mi)), max(0.0, (truths[(t, d)] - hi) / abs(mi)))
                     for d, rs in runs.items() for t, s, mi, lo, hi in rs for _ in [0]])
    if need.size == 0:
        return (0.0, 0.0)
    steps = np.arange(0, 2.0 + 1e-9, grid)
    best = None
    for dn in steps:
        for up in steps:
            cov = np.mean((need[:, 0] <= dn + 1e-12) & (need[:, 1] <= up + 1e-12))
            if cov >= level and (best is None or dn + up < sum(best) - 1e-12):
                best = (round(float(dn), 2), round(float(up), 2))
    return best


def summarize(entries, truths):
    """entries: (task, seed, div, mi, lo, hi) -> dict of mean |rel err| (gaussian / mixture / all), signed, coverage."""
    if not entries:
        return None
    rel = np.array([(mi - truths[(t, d)]) / truths[(t, d)] for t, s, d, mi, lo, hi in entries])
    g = np.array([_kind(t) == "gaussian" for t, *_ in entries])
    cov = np.array([lo <= truths[(t, d)] <= hi for t, s, d, mi, lo, hi in entries])
    return dict(n=len(entries), all=float(np.mean(np.abs(rel))), signed=float(np.mean(rel)),
                gauss=float(np.mean(np.abs(rel[g]))) if g.any() else math.nan,
                mix=float(np.mean(np.abs(rel[~g]))) if (~g).any() else math.nan, coverage=float(np.mean(cov)))


def copula_runs(rows, level):
    """({div: [(task, seed, mi, lo, hi)]} of the Gaussian-copula value where its test passes, {(task, seed): p})."""
    out, pvals = defaultdict(list), {}
    for r in rows:
        if r["est"] == "gaussian-copula":
            pvals[(r["task"], r["seed"])] = r["pvalue"]
            if r["pvalue"] >= level:
                out[r["div"]].append((r["task"], r["seed"], r["mi"], r.get("lo", r["mi"] - 1.96 * r["se"]),
                                      r.get("hi", r["mi"] + 1.96 * r["se"])))
    return out, pvals


def contender_entries(rows, truths, allowance, form_of, hf, level=0.01):
    """{(estimator, div): [entries]} for every contender, the φ default included (the rule of
    mi_estimators.phi_default: KL -> auto; else the Gaussian-copula value when its test passes,
    else the plug-in; each interval widened by its route's allowance)."""
    out = defaultdict(list)
    cop, pvals = copula_runs(rows, level)
    for div, rs in cop.items():
        for t, s_, mi, lo, hi in rs:
            out[("gaussian-copula", div)].append((t, s_, div, mi, lo, hi))
            if div != "kl":
                dn, up = allowance["gaussian-copula"].get(div, (0.0, 0.0))
                out[("phi-default", div)].append((t, s_, div, mi, lo - dn * abs(mi), hi + up * abs(mi)))
    for r in rows:
        if r["est"] in ("fmicl", "dro-dual", "fgan", "auto"):
            if "error" in r:
                out[(r["est"], r["div"])].append(None)
                continue
            out[(r["est"], r["div"])].append((r["task"], r["seed"], r["div"], r["mi"], r["lo"], r["hi"]))
            if r["est"] == "auto":
                out[("phi-default", "kl")].append((r["task"], r["seed"], r["div"], r["mi"], r["lo"], r["hi"]))
    for div, rs in plugin_runs(rows, form_of, hf).items():
        for t, s, mi, lo, hi in rs:
            out[("phi-plugin", div)].append((t, s, div, mi, lo, hi))
            if div != "kl" and pvals.get((t, s), 0.0) < level:
                dn, up = allowance["phi-plugin"].get(div, (0.0, 0.0))
                out[("phi-default", div)].append((t, s, div, mi, lo - dn * abs(mi), hi + up * abs(mi)))
    return out


def table(entries, truths, divs) -> list[str]:
    lines = ["| divergence | estimator | runs (errors) | mean abs rel. error: Gaussians | mixtures | all | "
             "mean signed rel. error | 95 % interval coverage |", "|---|---|---|---|---|---|---|---|"]
    for div in divs:
        for est in ("phi-default", "phi-plugin", "gaussian-copula", "fmicl", "dro-dual", "fgan", "auto"):
            es = entries.get((est, div))
            if not es:
                continue
            ok = [e for e in es if e is not None]
            s = summarize(ok, truths)
            err = len(es) - len(ok)
            if s is None:
                lines.append(f"| {div} | {est} | 0 ({err}) | refused/diverged | | | | |")
                continue
            lines.append(f"| {div} | {est} | {s['n']} ({err}) | {100 * s['gauss']:.1f} % | {100 * s['mix']:.1f} % | "
                         f"{100 * s['all']:.1f} % | {100 * s['signed']:+.1f} % | {100 * s['coverage']:.0f} % |")
    return lines


def analyze(half: str, hf: float = 0.2) -> None:
    from mi_estimators.phi_default import PHI_BIAS_ALLOWANCE
    from mi_estimators.phi_plugin import DEFAULT_FORM

    rows = load(half)
    truths = _truths(rows)
    form_of = lambda d: DEFAULT_FORM.get(d, "product")  # noqa: E731
    lines = [f"# φ-MI accuracy, {half} half", "",
             f"n = {rows[0]['n'] if rows else 0}; tasks {sorted({r['task'] for r in rows})}; "
             f"seeds {sorted({r['seed'] for r in rows})}. Produced by `benchmarks/phi_accuracy.py --half {half}` "
             f"and `--analyze`; runs in `docs/accuracy/phi_{half}_runs.jsonl`. Relative errors are "
             "(estimate − truth)/truth; coverage: the fraction of runs whose reported 95 % interval holds the truth.", ""]
    # forms and held-out fractions of the plug-in (choose-half material)
    lines += ["## Plug-in forms and held-out fraction", "",
              "| divergence | form | held out | mean abs rel. error | signed | coverage of the jackknife t-interval |",
              "|---|---|---|---|---|---|"]
    hfs = sorted({r["hf"] for r in rows if r["est"] == "phi-plugin"})
    for div in _phi_tasks.DIVERGENCES:
        for form in ("product", "joint", "dual"):  # noqa: the forms that ran
            for h in hfs:
                rs = plugin_runs(rows, lambda d, f=form: f, h).get(div, [])
                s = summarize([(t, se, div, mi, lo, hi) for t, se, mi, lo, hi in rs], truths)
                if s:
                    lines.append(f"| {div} | {form} | {h} | {100 * s['all']:.1f} % | {100 * s['signed']:+.1f} % | "
                                 f"{100 * s['coverage']:.0f} % |")
    runs = plugin_runs(rows, form_of, hf)
    cal = {"phi-plugin": {d: calibrate({d: rs}, truths) for d, rs in runs.items() if d != "kl"},
           "gaussian-copula": {d: calibrate({d: rs}, truths) for d, rs in copula_runs(rows, 0.01)[0].items()
                               if d != "kl"}}
    lines += ["", "## Bias allowance that brings each route's interval to 95 % coverage on this half", "",
              "The plug-in's from all its runs (Gaussians included), the Gaussian-copula value's from the runs "
              "where its test passes (p >= 0.01).", "", "```", json.dumps(cal), "```", "",
              f"In use (`phi_default.PHI_BIAS_ALLOWANCE`): `{json.dumps(PHI_BIAS_ALLOWANCE)}`", ""]
    entries = contender_entries(rows, truths, PHI_BIAS_ALLOWANCE, form_of, hf)
    lines += ["## Per divergence", ""] + table(entries, truths, _phi_tasks.DIVERGENCES)
    tgt = [e for d in TARGET5 for e in entries.get(("phi-default", d), []) if e is not None]
    s = summarize(tgt, truths)
    if s:
        lines += ["", f"**φ default over {', '.join(TARGET5)}**: mean abs relative error {100 * s['all']:.1f} % "
                  f"(Gaussians {100 * s['gauss']:.1f} %, mixtures {100 * s['mix']:.1f} %), coverage "
                  f"{100 * s['coverage']:.0f} % over {s['n']} runs."]
    for est in ("fmicl", "dro-dual", "fgan"):
        es = [e for d in TARGET5 for e in entries.get((est, d), [])]
        ok = [e for e in es if e is not None]
        s = summarize(ok, truths)
        if s:
            lines.append(f"{est} over the same divergences: {100 * s['all']:.1f} % (Gaussians {100 * s['gauss']:.1f} %, "
                         f"mixtures {100 * s['mix']:.1f} %), coverage {100 * s['coverage']:.0f} %, "
                         f"{s['n']} runs, {len(es) - len(ok)} refused/diverged.")
    lines += ["", "## Per task (mean over seeds of the relative error, %)", ""]
    tasks = sorted({r["task"] for r in rows})
    ests = ("phi-default", "phi-plugin", "gaussian-copula", "fmicl", "dro-dual", "fgan")
    lines += ["| task | divergence | truth | " + " | ".join(ests) + " |", "|---|---|---|" + "---|" * len(ests)]
    for t in tasks:
        for d in _phi_tasks.DIVERGENCES:
            cells = []
            for e in ests:
                v = [x for x in entries.get((e, d), []) if x is not None and x[0] == t]
                cells.append(f"{100 * np.mean([(x[3] - truths[(t, d)]) / truths[(t, d)] for x in v]):+.1f}"
                             if v else "—")
            lines.append(f"| {t} | {d} | {truths.get((t, d), math.nan):.4g} | " + " | ".join(cells) + " |")
    out = _phi_tasks.REPO / "docs" / "accuracy" / f"phi_{half}.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:80]))
    figure(entries, truths, half)


def figure(entries, truths, half):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    divs = _phi_tasks.DIVERGENCES
    ests = [("phi-default", "C0"), ("fmicl", "C1"), ("dro-dual", "C2"), ("fgan", "C3")]
    fig, grid = plt.subplots(2, 4, figsize=(13, 8))
    axes = grid.ravel()
    axes[-1].axis("off")
    for ax, d in zip(axes, divs):
        tasks = sorted({e[0] for (est, dd), es in entries.items() if dd == d for e in es if e is not None})
        for k, (est, c) in enumerate(ests):
            for i, t in enumerate(tasks):
                v = [100 * (x[3] - truths[(t, d)]) / truths[(t, d)] for x in entries.get((est, d), [])
                     if x is not None and x[0] == t]
                if v:
                    ax.errorbar(np.mean(v), i + 0.18 * (k - 1.5), xerr=np.std(v, ddof=1) if len(v) > 1 else 0,
                                fmt="o", color=c, ms=3, lw=1, label=est if i == 0 else None)
        ax.axvline(0, color="k", lw=0.5)
        ax.axvspan(-10, 10, color="0.9", zorder=0)
        ax.set_title(d)
        ax.set_yticks(range(len(tasks)))
        ax.set_yticklabels([t.replace("gaussian:", "g:")[:24] for t in tasks], fontsize=6)
        ax.set_xlabel("rel. error, % (mean ± sd over seeds)", fontsize=7)
        ax.set_xlim(-80, 40)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].legend(handles, labels, loc="center", fontsize=9)
    fig.suptitle(f"φ-MI: bias and spread per divergence ({half} half, n = 5000; grey: ±10 %)")
    fig.tight_layout()
    path = _phi_tasks.REPO / "docs" / "figures" / f"phi_{half}_bias.png"
    fig.savefig(path, dpi=110)
    print("wrote", path)
