"""Generate docs/reference.md, the API reference, from the code's docstrings and registries.

    python docs/gen_reference.py           # rewrite docs/reference.md
    python docs/gen_reference.py --check   # exit 1 (and say so) if docs/reference.md is stale

The reference is built only from what the code says about itself: the public names of each
module (``__all__``), their signatures and docstrings, the bound registry
(:func:`mi_estimators.bounds.describe_bounds`), the non-parametric registry and the task
registry (:func:`synthetic.list_tasks`, with each task's ground truth). Output is
deterministic: no addresses, no timings, no paths, no versions of third-party packages.
``tests/test_reference_docs.py`` checks that the committed file equals a fresh run.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "reference.md"

#: (module, one-line role). Order is the data flow: task -> critic -> scores -> bound -> estimate.
MODULES = [
    ("mi_estimators.api", "the one-call API: estimate_mi validates once and dispatches to an estimator family"),
    ("mi_estimators.sklearn_api", "the scikit-learn estimator (MIEstimator)"),
    ("mi_estimators.result", "MIResult, its intervals, and the package's JSON encoder"),
    ("mi_estimators.options", "typed option groups: the one source of option names, defaults and checks"),
    ("mi_estimators.auto", "the automatic choice of method (estimator=\"auto\") as a plan"),
    ("mi_estimators.neural", "the neural path: split, standardise, train a critic ensemble, report a bound"),
    ("mi_estimators.flow", "the flow estimator (MIENF): normalizing flows map each side to a Gaussian"),
    ("mi_estimators.flow_model", "the batched flow modules and the Gaussian latent's MI"),
    ("mi_estimators.phi_plugin", "phi-MI read by plug-in from one trained density-ratio critic"),
    ("mi_estimators.phi_default", "the phi default: estimate_mi(x, y, divergence=...) with no estimator named"),
    ("mi_estimators.copula", "normal scores and the Gaussian-copula test behind auto"),
    ("mi_estimators.bounds", "variational bounds as pure functions of the score matrix, and their registry"),
    ("mi_estimators.divergences", "f-divergence generators for φ-MI"),
    ("mi_estimators.critics", "neural critics (batched ensembles) that produce the score matrix"),
    ("mi_estimators.contrastive.losses", "contrastive losses (InfoNCE, DCL, HCL, ADNCE, f-MICL) on score matrices and embeddings"),
    ("mi_estimators.contrastive.dro", "the DRO reading of contrastive learning, as checkable functions"),
    ("mi_estimators.nonparametric", "non-neural references: KSG, Gaussian/CCA, sklearn per-feature MI"),
    ("mi_estimators.training", "the training loop behind estimate_mi (held-out evaluation, early stopping, ensembles)"),
    ("mi_estimators.bench.sweep", "sweeps: jobs, one tidy row per run, scores"),
    ("mi_estimators.bench.store", "the resumable results folder"),
    ("mi_estimators.bench.config", "sweep configs, checked before any work starts"),
    ("mi_estimators.bench.staircase", "the staircase protocol of Poole et al. and Song & Ermon"),
    ("mi_estimators.bench.checks", "the theory checks at oracle critics (mi-bench validate)"),
    ("mi_estimators.bench.executors", "where a sweep's jobs run: serial, a local pool, Dask"),
    ("mi_estimators.bench.report", "tables and plots of a results folder"),
    ("synthetic", "tasks with known ground truth (numpy + scipy only)"),
]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _clean(text: str) -> str:
    return _ADDRESS.sub("", text)


def _annotation(ann) -> str:
    if ann is inspect.Parameter.empty:
        return ""
    if isinstance(ann, str):
        return ann
    if isinstance(ann, type):
        return ann.__qualname__
    return _clean(repr(ann)).replace("typing.", "")


def _default(value) -> str:
    if inspect.isfunction(value) or inspect.isbuiltin(value) or inspect.isclass(value):
        return getattr(value, "__qualname__", repr(value))
    return _clean(repr(value))


def format_signature(name: str, obj) -> str:
    """``name(a: int, *, b=1) -> float`` with annotations as written in the source (no quotes)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    parts: list[str] = []
    star_done = False
    kinds = inspect.Parameter
    params = list(sig.parameters.values())
    if inspect.isclass(obj) and params and params[0].name == "self":  # pragma: no cover - defensive
        params = params[1:]
    for i, p in enumerate(params):
        if p.kind is kinds.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is kinds.VAR_POSITIONAL:
            star_done = True
        text = {kinds.VAR_POSITIONAL: "*", kinds.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        ann = _annotation(p.annotation)
        if ann:
            text += f": {ann}"
        if p.default is not inspect.Parameter.empty:
            text += (" = " if ann else "=") + _default(p.default)
        parts.append(text)
        if p.kind is kinds.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind is not kinds.POSITIONAL_ONLY):
            parts.append("/")
    out = f"{name}({', '.join(parts)})"
    ret = _annotation(sig.return_annotation)
    if ret and not inspect.isclass(obj):
        out += f" -> {ret}"
    return out


def _doc(obj) -> str:
    doc = inspect.getdoc(obj)
    return _clean(doc.strip()) if doc else "(no docstring)"


def _text_block(text: str) -> list[str]:
    # ```text, never ```python: tests/test_docs_examples.py runs every python block of docs/.
    return ["```text", text.replace("```", "'''"), "```", ""]


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def _public_methods(cls) -> list[tuple[str, object]]:
    out = []
    for name, member in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if inspect.isfunction(member) and member.__doc__:
            out.append((name, member))
        elif isinstance(member, property) and member.__doc__:
            out.append((name, member))
    return out


def _describe_data(name: str, value) -> str:
    if isinstance(value, dict):
        keys = ", ".join(f"`{k}`" for k in value)
        return f"dict with keys {keys}"
    if isinstance(value, (tuple, list)):
        return "`" + _clean(repr(value)) + "`"
    return "`" + _clean(repr(value))[:200] + "`"


def module_section(module_name: str, role: str) -> list[str]:
    module = importlib.import_module(module_name)
    lines = [f'<a id="{_anchor(module_name, "")[:-1]}"></a>', "", f"## `{module_name}`: {role}", ""]
    lines += _text_block(_doc(module))
    names = list(getattr(module, "__all__", []))
    lines.append("Public names: " + ", ".join(f"[`{n}`](#{_anchor(module_name, n)})" for n in names) + ".")
    lines.append("")
    for name in names:
        obj = getattr(module, name)
        qual = f"{module_name}.{name}"
        lines.append(f'<a id="{_anchor(module_name, name)}"></a>')
        lines.append(f"### `{qual}` ({_kind(obj)})")
        lines.append("")
        if inspect.isclass(obj) or callable(obj):
            lines.append(f"`{format_signature(name, obj)}`")
            lines.append("")
            lines += _text_block(_doc(obj))
            if inspect.isclass(obj):
                for mname, member in _public_methods(obj):
                    if isinstance(member, property):
                        lines.append(f"- `{name}.{mname}` (property): " + " ".join(_doc(member).split()))
                    else:
                        sig = format_signature(mname, member).replace("(self, ", "(").replace("(self)", "()")
                        lines.append(f"- `{name}.{sig}`: " + " ".join(_doc(member).split()))
                if _public_methods(obj):
                    lines.append("")
        else:
            lines.append(_describe_data(name, obj) + ".")
            lines.append("")
    return lines


def _anchor(module_name: str, name: str) -> str:
    return (module_name + "-" + name).replace(".", "-").replace("_", "-").lower()


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


_KIND_WORDS = {"lower": "lower", "upper": "**upper** (under its condition)", "neither": "**neither**"}


def bounds_table() -> list[str]:
    from mi_estimators.bounds import describe_bounds

    lines = [
        '<a id="bound-registry"></a>',
        "",
        "## The bound registry (`mi_estimators.bounds.describe_bounds()`)",
        "",
        "Every name below is an `estimator=` of `estimate_mi`. *target*: the MI the bound estimates "
        "(`kl`, or a φ name set by `divergence=`); *bound*: a population lower bound on the target "
        "for any critic, an upper bound (under its stated condition), or neither (an estimate); "
        "*ceiling*: the most the batch value can be at batch size B.",
        "",
        "| name | target | bound | ceiling at B = 128 | hyper-parameters (defaults) | paper | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for info in describe_bounds():
        ceiling = info.ceiling(128)
        hyper = ", ".join(f"`{k}={v!r}`" for k, v in info.hyper.items()) or "none"
        lines.append(
            f"| `{info.name}` | {info.target} | {_KIND_WORDS.get(info.kind, info.kind)} | "
            f"{'none' if ceiling is None else f'{ceiling:.3f}'} | {hyper} | {_cell(info.paper)} | {_cell(info.description)} |"
        )
    lines.append("")
    return lines


def estimator_table() -> list[str]:
    from mi_estimators import list_estimators
    from mi_estimators.bounds import BOUNDS
    from mi_estimators.nonparametric import NONPARAMETRIC_ESTIMATORS

    lines = [
        '<a id="estimator-names"></a>',
        "",
        "## Estimator names (`mi_estimators.list_estimators()`)",
        "",
        "| name | kind |",
        "|---|---|",
    ]
    for name in list_estimators():
        if name in BOUNDS:
            kind = "neural bound, see [the bound registry](#bound-registry)"
        elif name in NONPARAMETRIC_ESTIMATORS:
            kind = "non-parametric, see [the non-parametric registry](#nonparametric-registry)"
        elif name == "flow":
            kind = "normalizing flows (MIENF), see [`mi_estimators.flow`](#mi-estimators-flow)"
        elif name == "phi-plugin":
            kind = "φ-MI by plug-in, see [`mi_estimators.phi_plugin`](#mi-estimators-phi-plugin)"
        elif name == "auto":
            kind = "picks a method by the data's shape, see [`mi_estimators.auto`](#mi-estimators-auto)"
        else:
            kind = "see the module sections below"
        lines.append(f"| `{name}` | {kind} |")
    lines.append("")
    return lines


def nonparametric_table() -> list[str]:
    from mi_estimators.nonparametric import NONPARAMETRIC_ESTIMATORS

    lines = [
        '<a id="nonparametric-registry"></a>',
        "",
        "## The non-parametric registry (`mi_estimators.nonparametric.NONPARAMETRIC_ESTIMATORS`)",
        "",
        "| name | options |",
        "|---|---|",
    ]
    for name, fn in NONPARAMETRIC_ESTIMATORS.items():
        lines.append(f"| `{name}` | {', '.join(f'`{o}`' for o in getattr(fn, 'options', ()))} |")
    lines.append("")
    return lines


def divergence_table() -> list[str]:
    from mi_estimators.divergences import list_divergences

    return ["Divergence names (`mi_estimators.divergences.list_divergences()`): "
            + ", ".join(f"`{d}`" for d in list_divergences()) + ".", ""]


def task_table() -> list[str]:
    import synthetic

    lines = [
        '<a id="task-registry"></a>',
        "",
        "## The task registry (`synthetic.list_tasks()`)",
        "",
        "Every standard task, with its dimensions and ground truth I(X; Y) in nats "
        "(`mi_stderr` > 0: Monte Carlo truth, shipped in `synthetic/data/`). "
        "`synthetic.get_task` also accepts parametrised names (`gaussian:dim=D,mi=M`, "
        "transform prefixes, other Beyond-Normal parameters); see [tasks.md](tasks.md).",
        "",
        "| task | dim_x | dim_y | I (nats) | stderr |",
        "|---|---|---|---|---|",
    ]
    for name in synthetic.list_tasks():
        task = synthetic.get_task(name)
        se = task.mi_stderr
        lines.append(f"| `{name}` | {task.dim_x} | {task.dim_y} | {task.mi:.4f} | {'exact' if se == 0 else f'{se:.4f}'} |")
    lines.append("")
    return lines


def generate() -> str:
    lines = [
        "# API reference",
        "",
        "<!-- Generated by docs/gen_reference.py from the docstrings and registries; do not edit by hand. "
        "Regenerate with: python docs/gen_reference.py -->",
        "",
        "Generated from the code: every public name (`__all__`) of the modules below, with its "
        "signature and docstring, plus the registries of bounds, non-parametric estimators and "
        "tasks. All values are in nats. For explanations and measured behaviour read the "
        "[estimator pages](index.md); for the command line, [cli.md](cli.md).",
        "",
        "Contents: [estimator names](#estimator-names), [bound registry](#bound-registry), [non-parametric registry](#nonparametric-registry), "
        + ", ".join(f"[`{m}`](#{_anchor(m, '')[:-1]})" for m, _ in MODULES)
        + ", [task registry](#task-registry).",
        "",
    ]
    lines += estimator_table()
    lines += bounds_table()
    lines += nonparametric_table()
    for module_name, role in MODULES:
        lines += module_section(module_name, role)
        if module_name == "mi_estimators.divergences":
            lines += divergence_table()
    lines += task_table()
    text = "\n".join(lines).rstrip() + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/reference.md is out of date")
    parser.add_argument("--out", default=str(OUTPUT), help="output path (default docs/reference.md)")
    args = parser.parse_args(argv)
    text = generate()
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is out of date: run python docs/gen_reference.py", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
