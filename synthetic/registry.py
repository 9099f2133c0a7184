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
* Discrete and mixed families (ordinary two-variable tasks, :mod:`synthetic.discrete`):
  ``discrete:kx=5,ky=5,seed=0``, ``discrete-pairs:pairs=3,k=5,seed=0``,
  ``mixed:k=5,sigma=0.3``, ``zero-inflated:p=0.1,rho=0.9``.
* High-MI families (:mod:`synthetic.highmi`, issue 21): ``highmi-spiral:dim=5,mi=10,seed=0``,
  ``highmi-half_cube-rot:...``, ``highmi-normal_cdf-rot:...`` (a Gaussian at ``mi`` nats under a
  warp that ranks cannot undo); listed by ``list_tasks("highmi")``, not by ``list_tasks()``.
* Conditional-MI families (:mod:`synthetic.conditional`): ``gaussian-cmi:dx=2,dy=2,dz=3,cmi=1``,
  ``discrete-cmi:kx=5,ky=5,kz=5,seed=0[,ci=1]``. These build :class:`CMITask` objects whose
  ``sample`` returns **three** arrays (x, y, z); they are listed only by
  ``list_tasks("cmi")``, never by the default ``list_tasks()`` that sweeps iterate over.

Choose / report halves (:func:`choose_tasks`, :func:`report_tasks`): the ``cmi``,
``discrete`` and ``highmi`` default lists are built from twin pairs (two tasks that differ only in a seed,
``mix`` or a nearby parameter). Of each pair, the name with the smaller
``sha256("issue18:" + name)`` goes to the *choose* half (tune or pick methods on it), the
other to the *report* half (quote accuracy on it). The rule reads names only, never an
estimator result, and every design point appears in both halves.

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
    "discrete": "discrete:kx=K,ky=L,seed=S[,alpha=A]  (Dirichlet joint table, exact)",
    "discrete-pairs": "discrete-pairs:pairs=P,k=K,seed=S[,alpha=A]  (P independent tables side by side)",
    "mixed": "mixed:k=K,sigma=S[,seed=N]  (X uniform on K levels, Y|X=i ~ N(mu_i, S^2); quadrature)",
    "zero-inflated": "zero-inflated:p=P,rho=R  (Gaussian with a common point mass at (0,0), exact)",
    "gaussian-cmi": "gaussian-cmi:dx=A,dy=B,dz=C,cmi=M[,mix=S]  (CMITask: I(X;Y|Z) closed form)",
    "nonlinear-cmi": "nonlinear-cmi:dx=A,dy=B,dz=C,cmi=M[,mix=S]  (CMITask: Z acts through u + 2 sin 2u; "
                     "non-Gaussian copula, I(X;Y|Z) = M exactly)",
    "discrete-cmi": "discrete-cmi:kx=K,ky=L,kz=M,seed=S[,alpha=A][,ci=1]  (CMITask: enumeration)",
    "highmi-spiral": "highmi-spiral:dim=D,mi=M[,seed=S]  (Gaussian, seeded rotation, spiral; closed form)",
    "highmi-half_cube-rot": "highmi-half_cube-rot:dim=D,mi=M[,seed=S]  (Gaussian, t|t|^0.5, seeded rotation)",
    "highmi-normal_cdf-rot": "highmi-normal_cdf-rot:dim=D,mi=M[,seed=S]  (Gaussian, Phi, seeded rotation)",
    "transform prefixes": "cubic-, half_cube-, asinh-, normal_cdf-, wiggly-, spiral-, "
                          "swissroll_x-, bimodal- before any two-variable name",
}

#: Our own default tasks: the Poole et al. / Song & Ermon staircase levels, plain and cubic,
#: and the latent-class contrastive setting.
OWN_TASKS = (
    [f"gaussian:dim=20,mi={m}" for m in (2, 4, 6, 8, 10)]
    + [f"cubic-gaussian:dim=20,mi={m}" for m in (2, 4, 6, 8, 10)]
    + ["gaussian:dim=5,mi=1", "latent-class:classes=10,dim=8,noise=0.5,seed=0"]
)

#: Twin pairs behind the CMI defaults: every (dz, cmi) design point with mix=1 and mix=3
#: (mix=3: Z explains most of the X-Y dependence, I(X;Y) >> I(X;Y|Z)), and discrete CMI
#: tables with and without conditional independence, seeds 0 and 1.
_CMI_TWINS = (
    [(f"gaussian-cmi:dx={d},dy={d},dz={dz},cmi={c}", f"gaussian-cmi:dx={d},dy={d},dz={dz},cmi={c},mix=3")
     for dz, d in ((1, 1), (3, 2), (10, 2)) for c in ("0", "0.5", "1", "2")]
    + [(f"nonlinear-cmi:dx={d},dy={d},dz={dz},cmi={c}", f"nonlinear-cmi:dx={d},dy={d},dz={dz},cmi={c},mix=0.7")
       for dz, d in ((1, 1), (3, 1), (5, 2)) for c in ("0", "0.5", "1")]
    + [tuple(f"discrete-cmi:kx={a},ky={b},kz={c},seed={s}{ci}" for s in (0, 1))
       for a, b, c in ((2, 2, 2), (5, 5, 5), (3, 3, 10)) for ci in ("", ",ci=1")]
)

#: Twin pairs behind the discrete / mixed defaults (ordinary two-variable tasks).
_DISCRETE_TWINS = (
    [tuple(f"discrete:kx={a},ky={b},seed={s}{al}" for s in (0, 1))
     for a, b, al in ((2, 2, ""), (5, 5, ""), (5, 5, ",alpha=0.2"), (20, 20, ""), (2, 20, ""))]
    + [("discrete-pairs:pairs=3,k=5,seed=0", "discrete-pairs:pairs=3,k=5,seed=3")]
    + [(f"mixed:k={k},sigma={s}", f"mixed:k={k},sigma={s},seed=1") for k, s in ((2, "0.5"), (5, "0.3"), (10, "1"))]
    + [("zero-inflated:p=0.1,rho=0.9", "zero-inflated:p=0.15,rho=0.9"),
       ("zero-inflated:p=0.5,rho=0.5", "zero-inflated:p=0.4,rho=0.5")]
)

#: The CMI defaults (``CMITask`` names; sample returns (x, y, z)). Not in ``list_tasks()``.
CMI_TASKS = [name for pair in _CMI_TWINS for name in pair]
#: The discrete / mixed defaults (ordinary ``Task`` names); part of ``list_tasks()``.
DISCRETE_TASKS = [name for pair in _DISCRETE_TWINS for name in pair]

#: Salt of the choose/report split (the issue number); changing it re-deals every pair.
SPLIT_SALT = "issue18:"

def _highmi_twins():
    from synthetic.highmi import HIGHMI_TWINS

    return HIGHMI_TWINS


_TWINS = {"cmi": _CMI_TWINS, "discrete": _DISCRETE_TWINS, "highmi": _highmi_twins()}


def _chooses_first(a: str, b: str) -> bool:
    import hashlib

    key = lambda name: hashlib.sha256((SPLIT_SALT + name).encode()).hexdigest()  # noqa: E731
    return key(a) < key(b)


def _split(group: str) -> tuple[list[str], list[str]]:
    if group not in _TWINS:
        raise ValueError(f"unknown task group {group!r}; valid choices: {', '.join(_TWINS)}")
    choose, report = [], []
    for a, b in _TWINS[group]:
        first = _chooses_first(a, b)
        choose.append(a if first else b)
        report.append(b if first else a)
    return choose, report


def choose_tasks(group: str) -> list[str]:
    """The *choose* half of ``group`` (``"cmi"``, ``"discrete"`` or ``"highmi"``): one task of every twin
    pair, the one with the smaller ``sha256("issue18:" + name)``. Pick methods and settings
    on these; quote accuracy on :func:`report_tasks`. Depends on names only."""
    return _split(group)[0]


def report_tasks(group: str) -> list[str]:
    """The *report* half of ``group`` (``"cmi"``, ``"discrete"`` or ``"highmi"``): the other task of every
    twin pair (see :func:`choose_tasks`). Disjoint from the choose half; together they are
    ``list_tasks(group)``."""
    return _split(group)[1]


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


_PARAMS = {
    "gaussian": ({"dim"}, {"mi", "rho"}),
    "latent-class": ({"classes", "dim", "noise"}, {"seed"}),
    "student": ({"dim_x", "dim_y", "df"}, set()),
    "additive": ({"epsilon"}, set()),
    "discrete": ({"kx", "ky", "seed"}, {"alpha"}),
    "discrete-pairs": ({"pairs", "k", "seed"}, {"alpha"}),
    "mixed": ({"k", "sigma"}, {"seed"}),
    "zero-inflated": ({"p", "rho"}, set()),
    "gaussian-cmi": ({"dx", "dy", "dz", "cmi"}, {"mix"}),
    "nonlinear-cmi": ({"dx", "dy", "dz", "cmi"}, {"mix"}),
    "discrete-cmi": ({"kx", "ky", "kz", "seed"}, {"alpha", "ci"}),
    "highmi-spiral": ({"dim", "mi"}, {"seed"}),
    "highmi-half_cube-rot": ({"dim", "mi"}, {"seed"}),
    "highmi-normal_cdf-rot": ({"dim", "mi"}, {"seed"}),
}


def _new_family_task(family: str, params: dict):
    from synthetic import conditional, discrete

    if family.startswith("highmi-"):
        from synthetic.highmi import HighMI

        return HighMI(family.removeprefix("highmi-"), **params)
    make = {
        "discrete": discrete.DiscreteTable,
        "discrete-pairs": discrete.DiscretePairs,
        "mixed": discrete.MixedGaussian,
        "zero-inflated": discrete.ZeroInflatedGaussian,
        "gaussian-cmi": conditional.GaussianCMI,
        "nonlinear-cmi": conditional.NonlinearCMI,
        "discrete-cmi": conditional.DiscreteCMI,
    }[family]
    return make(**params)


def _family_task(family: str, params: dict):
    from synthetic.additive import AdditiveUniform
    from synthetic.gaussian import CorrelatedGaussian
    from synthetic.mixtures import LatentClass
    from synthetic.beyond_normal import student_identity

    allowed = _PARAMS[family]
    required, optional = allowed
    unknown = set(params) - required - optional
    missing = required - set(params)
    if unknown or missing:
        raise ValueError(f"{family!r} takes parameters {sorted(required)} (+ optional "
                         f"{sorted(optional)}); missing {sorted(missing)}, unknown {sorted(unknown)}")
    if family not in ("gaussian", "latent-class", "student", "additive"):
        return _new_family_task(family, params)
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
    if colon and family in _PARAMS:
        return _family_task(family, _parse_params(family, rest))
    for pattern, make in _bmi_patterns():
        m = re.fullmatch(pattern, name)
        if m:
            return make(*m.groups())
    prefix, dash, inner = name.partition("-")
    if dash and prefix in PREFIXES:
        from synthetic.conditional import CMITask

        base = get_task(inner)
        if isinstance(base, CMITask):
            raise ValueError(f"transform prefixes apply to two-variable tasks only, not to the "
                             f"conditional task {inner!r}")
        return PREFIXES[prefix](base)
    raise KeyError(name)


@functools.lru_cache(maxsize=512)
def _cached(name: str):
    return _build(name)


def get_task(name: str):
    """The task called ``name`` (see module docstring for the grammar); cached per process.

    ``gaussian-cmi:...`` and ``discrete-cmi:...`` names return a
    :class:`synthetic.conditional.CMITask`, whose ``sample(n, seed)`` returns three arrays
    ``(x, y, z)`` and whose truth is ``cmi`` = I(X; Y | Z); every other name returns a
    two-variable :class:`synthetic.base.Task`.

    Raises ValueError for an unknown name, listing the families and the closest known names,
    and for bad parameters (e.g. ``gaussian:dim=5,rho=1.5``).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"task name must be a non-empty string, got {name!r}")
    try:
        return _cached(name.strip())
    except KeyError:
        pass
    close = difflib.get_close_matches(name, list_tasks() + list(CMI_TASKS), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    family = name.split(":")[0]
    syntax = f"; {family} names read {FAMILIES[family]}" if family in FAMILIES else ""
    raise ValueError(f"unknown task {name!r}{hint}{syntax}; valid names: `mi-bench list tasks` or "
                     f"synthetic.list_tasks(); families: {', '.join(k for k in FAMILIES if ' ' not in k)} "
                     "(their syntax: synthetic.registry.FAMILIES)")


def list_tasks(family: str | None = None) -> list[str]:
    """Names of the standard tasks (nothing is built). ``family``: None (all two-variable
    tasks: beyond-normal + own + discrete), ``"beyond-normal"`` (the 49 published ids),
    ``"beyond-normal-standard"`` (40), ``"beyond-normal-mixtures"`` (9), ``"own"`` (this
    package's defaults), ``"discrete"`` (discrete, mixed and zero-inflated defaults), or
    ``"cmi"`` (conditional-MI defaults: :class:`CMITask` names, whose ``sample`` returns
    (x, y, z); not part of the default listing), or ``"highmi"`` (the 84 warped Gaussians at
    2-20 nats of :mod:`synthetic.highmi`; not part of the default listing). ``"discrete-choose"``,
    ``"discrete-report"``, ``"cmi-choose"``, ``"cmi-report"``, ``"highmi-choose"``,
    ``"highmi-report"`` are the halves of :func:`choose_tasks` /
    :func:`report_tasks`."""
    from synthetic.beyond_normal import MIXTURE_TASKS, STANDARD_TASKS

    groups = {
        "beyond-normal-standard": list(STANDARD_TASKS),
        "beyond-normal-mixtures": list(MIXTURE_TASKS),
        "own": list(OWN_TASKS),
        "discrete": list(DISCRETE_TASKS),
        "cmi": list(CMI_TASKS),
        "highmi": [name for pair in _TWINS["highmi"] for name in pair],
    }
    groups["beyond-normal"] = groups["beyond-normal-standard"] + groups["beyond-normal-mixtures"]
    for group in _TWINS:
        groups[f"{group}-choose"], groups[f"{group}-report"] = _split(group)
    if family is None:
        return groups["beyond-normal"] + groups["own"] + groups["discrete"]
    if family not in groups:
        raise ValueError(f"unknown task family {family!r}; valid choices: {', '.join(groups)}")
    return list(groups[family])
