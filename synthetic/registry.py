"""Task names ↔ constructors.

Three kinds of names, all accepted by :func:`get_task`:

* The Beyond-Normal ids, exactly as bmi spells them (``multinormal-dense-5-5-0.5``,
  ``spiral-multinormal-sparse-5-5-2-2.0``, ``1v1-AI``, ...), and the same patterns with other
  parameters (``multinormal-dense-4-4-0.3``, ``student-identity-2-2-5``, ``1v1-X-0.5``, ...).
* Parametrised families of this package, ``family:key=value,...``:
  ``gaussian:dim=20,mi=4`` (or ``rho=``), ``latent-class:classes=10,dim=8,noise=0.5,seed=0``,
  ``student:dim_x=2,dim_y=2,df=3``, ``additive:epsilon=0.1``.
* Any of the above behind transform prefixes, composed left to right as applied last to
  first: ``cubic-gaussian:dim=20,mi=4``, ``spiral-normal_cdf-multinormal-sparse-5-5-2-2.0``
  (prefixes: cubic, half_cube, asinh, normal_cdf, wiggly, spiral, swissroll_x, bimodal).

:func:`list_tasks` lists the standard names without building anything (no ground truth is
computed at import or list time). :func:`get_task` caches instances per name, so Monte Carlo
ground truth is computed at most once per process (and usually read from the shipped table).
"""
from __future__ import annotations

import difflib
import functools
import re

FAMILIES = {
    "gaussian": "gaussian:dim=D,mi=M | gaussian:dim=D,rho=R  (correlated Gaussian, closed form)",
    "latent-class": "latent-class:classes=K,dim=D,noise=S[,seed=N]  (Gaussian mixture, labels)",
    "student": "student:dim_x=A,dim_y=B,df=V  (Student-t, identity dispersion, closed form)",
    "additive": "additive:epsilon=E  (uniform + uniform noise, 1x1, closed form)",
    "beyond-normal": "the bmi ids, e.g. multinormal-dense-5-5-0.5, student-identity-2-2-1, 1v1-AI",
    "transform prefixes": "cubic-, half_cube-, asinh-, normal_cdf-, wiggly-, spiral-, "
                          "swissroll_x-, bimodal- before any name",
}

#: Our own default tasks: the Poole et al. / Song & Ermon staircase levels, plain and cubic,
#: and the latent-class contrastive setting.
OWN_TASKS = (
    [f"gaussian:dim=20,mi={m}" for m in (2, 4, 6, 8, 10)]
    + [f"cubic-gaussian:dim=20,mi={m}" for m in (2, 4, 6, 8, 10)]
    + ["gaussian:dim=5,mi=1", "latent-class:classes=10,dim=8,noise=0.5,seed=0"]
)

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_INT = r"\d+"


def _bmi_patterns():
    from synthetic import beyond_normal as bn

    f, i = float, int
    return [
        (rf"1v1-normal-({_NUM})", lambda r: bn.bivariate_normal(f(r))),
        (rf"multinormal-dense-({_INT})-({_INT})-({_NUM})",
         lambda a, b, o: bn.multinormal_dense(i(a), i(b), f(o))),
        (rf"multinormal-sparse-({_INT})-({_INT})-({_INT})-({_NUM})",
         lambda a, b, k, s: bn.multinormal_sparse(i(a), i(b), i(k), f(s))),
        (rf"student-identity-({_INT})-({_INT})-({_INT})",
         lambda a, b, df: bn.student_identity(i(a), i(b), i(df))),
        (rf"1v1-additive-({_NUM})", lambda e: bn.additive_noise(f(e))),
        (rf"1v1-bimodal-({_NUM})", lambda r: bn.bimodal_gaussians(f(r))),
        (rf"1v1-X-({_NUM})", lambda r: bn.task_x(f(r))),
        (r"1v1-AI", lambda: bn.task_ai()),
        (rf"2v1-galaxy-({_NUM})-({_NUM})", lambda s, d: bn.task_galaxy(f(s), f(d))),
        (rf"2v1-waves-({_INT})-({_NUM})-({_NUM})",
         lambda k, a, w: bn.task_waves(i(k), f(a), f(w))),
        (rf"({_INT})v1-concentric_gaussians-({_INT})",
         lambda d, k: bn.task_concentric(i(d), i(k))),
        (rf"mult-sparse-w-inliers-({_INT})-({_INT})-({_INT})-({_NUM})-({_NUM})",
         lambda a, b, k, s, q: bn.task_sparse_with_inliers(i(a), i(b), i(k), f(s), f(q))),
    ]


def _parse_params(family: str, text: str) -> dict:
    params = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"bad parameter {part!r} in {family!r} task name; use key=value,...")
        value = value.strip()
        try:
            params[key.strip()] = int(value) if re.fullmatch(r"[-+]?\d+", value) else float(value)
        except ValueError:
            raise ValueError(f"parameter {key!r} of {family!r} must be a number, got {value!r}") from None
    return params


def _family_task(family: str, params: dict):
    from synthetic.additive import AdditiveUniform
    from synthetic.gaussian import CorrelatedGaussian
    from synthetic.mixtures import LatentClass
    from synthetic.beyond_normal import student_identity

    allowed = {
        "gaussian": ({"dim"}, {"mi", "rho"}),
        "latent-class": ({"classes", "dim", "noise"}, {"seed"}),
        "student": ({"dim_x", "dim_y", "df"}, set()),
        "additive": ({"epsilon"}, set()),
    }[family]
    required, optional = allowed
    unknown = set(params) - required - optional
    missing = required - set(params)
    if unknown or missing:
        raise ValueError(f"{family!r} takes parameters {sorted(required)} (+ optional "
                         f"{sorted(optional)}); missing {sorted(missing)}, unknown {sorted(unknown)}")
    if family == "gaussian":
        return CorrelatedGaussian(params["dim"], rho=params.get("rho"), mi=params.get("mi"))
    if family == "latent-class":
        return LatentClass(params["classes"], params["dim"], params["noise"], params.get("seed", 0))
    if family == "student":
        task = student_identity(params["dim_x"], params["dim_y"], params["df"])
        task.name = f"student:dim_x={params['dim_x']},dim_y={params['dim_y']},df={params['df']}"
        return task
    return AdditiveUniform(params["epsilon"], name=f"additive:epsilon={params['epsilon']:g}")


def _build(name: str):
    from synthetic.beyond_normal import SUITE
    from synthetic.transforms import PREFIXES

    if name in SUITE:
        return SUITE[name]()
    family, colon, rest = name.partition(":")
    if colon and family in ("gaussian", "latent-class", "student", "additive"):
        return _family_task(family, _parse_params(family, rest))
    for pattern, make in _bmi_patterns():
        m = re.fullmatch(pattern, name)
        if m:
            return make(*m.groups())
    prefix, dash, inner = name.partition("-")
    if dash and prefix in PREFIXES:
        return PREFIXES[prefix](get_task(inner))
    raise KeyError(name)


@functools.lru_cache(maxsize=512)
def _cached(name: str):
    return _build(name)


def get_task(name: str):
    """The task called ``name`` (see module docstring for the grammar); cached per process.

    Raises ValueError for an unknown name, listing the families and the closest known names,
    and for bad parameters (e.g. ``gaussian:dim=5,rho=1.5``).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"task name must be a non-empty string, got {name!r}")
    try:
        return _cached(name.strip())
    except KeyError:
        pass
    close = difflib.get_close_matches(name, list_tasks(), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    families = "; ".join(f"{k}: {v}" for k, v in FAMILIES.items())
    raise ValueError(f"unknown task {name!r}{hint}; valid names: see synthetic.list_tasks(); "
                     f"families: {families}")


def list_tasks(family: str | None = None) -> list[str]:
    """Names of the standard tasks (nothing is built). ``family``: None (all),
    ``"beyond-normal"`` (the 49 published ids), ``"beyond-normal-standard"`` (40),
    ``"beyond-normal-mixtures"`` (9), or ``"own"`` (this package's defaults)."""
    from synthetic.beyond_normal import MIXTURE_TASKS, STANDARD_TASKS

    groups = {
        "beyond-normal-standard": list(STANDARD_TASKS),
        "beyond-normal-mixtures": list(MIXTURE_TASKS),
        "own": list(OWN_TASKS),
    }
    groups["beyond-normal"] = groups["beyond-normal-standard"] + groups["beyond-normal-mixtures"]
    if family is None:
        return groups["beyond-normal"] + groups["own"]
    if family not in groups:
        raise ValueError(f"unknown task family {family!r}; valid choices: {', '.join(groups)}")
    return list(groups[family])
