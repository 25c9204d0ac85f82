"""Bad values fed to every public entry point and every config field are rejected with a ValueError that
names the argument (property-based, hypothesis). The number of values tried is printed at the end.

Bad values are drawn per kind of argument: a count gets booleans, non-integral and non-finite floats, numbers
below its minimum, strings and None; a positive number gets zero, negatives, NaN, ±inf, booleans, strings;
a covariance gets non-square, asymmetric, indefinite and non-finite matrices; and so on.
"""

import math
import typing
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulations.induction_head as ih
import simulations.linear_attention as la
import theory.induction_head as tih
import theory.linear_attention as tla
from simulations.config import leaf_fields, replace_path
from simulations.experiments.catalogue import EXPERIMENTS
from simulations.seeding import standard_normal

TRIED = Counter()
NAN, INF = float("nan"), float("inf")
junk = st.one_of(st.text(max_size=3), st.none(), st.just([1, 2]), st.just({"a": 1}))


def count(minimum=1):
    below = st.integers(min_value=-(10**6), max_value=minimum - 1)
    fractional = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not float(x).is_integer())
    return st.one_of(st.booleans(), below, fractional, st.sampled_from([NAN, INF, -INF]), junk)


positive = st.one_of(
    st.floats(max_value=0.0, allow_nan=False), st.sampled_from([NAN, INF, -INF]), st.booleans(), junk
)
nonnegative = st.one_of(
    st.floats(max_value=-1e-9, allow_nan=False), st.sampled_from([NAN, INF, -INF]), st.booleans(), junk
)
real = st.one_of(st.sampled_from([NAN, INF, -INF]), st.booleans(), junk)
unit = st.one_of(
    st.floats(min_value=1.0, allow_nan=False),
    st.floats(max_value=0.0, allow_nan=False),
    st.sampled_from([NAN, INF]),
    st.booleans(),
    junk,
)


@st.composite
def bad_covariance(draw, d=3):
    kind = draw(st.sampled_from(["shape", "asym", "indefinite", "nan", "junk", "bool", "strings"]))
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    A = rng.standard_normal((d, d))
    if kind == "strings":  # numeric text is not a number (numpy would parse it)
        return (np.eye(d) * 2).astype(str).tolist()
    if kind == "shape":
        return rng.standard_normal((d, d + 1))
    if kind == "asym":
        return A @ A.T + np.eye(d) + np.triu(np.ones((d, d)), 1)
    if kind == "indefinite":
        return np.diag([1.0] * (d - 1) + [-draw(st.floats(0.1, 10))])
    if kind == "nan":
        M = A @ A.T + np.eye(d)
        M[0, 0] = draw(st.sampled_from([NAN, INF]))
        return M
    if kind == "bool":
        return np.eye(d, dtype=bool)
    return draw(junk)


@st.composite
def bad_matrix(draw, shape=(3, 3)):
    kind = draw(st.sampled_from(["shape", "nan", "junk", "strings"]))
    if kind == "shape":
        return np.ones((shape[0] + 1,) + shape[1:])
    if kind == "strings":
        return np.ones(shape).astype(str).tolist()
    if kind == "nan":
        M = np.ones(shape)
        M.flat[0] = NAN
        return M
    return draw(junk)


def choice(options):
    return st.one_of(st.text(max_size=5).filter(lambda s: s not in options), st.booleans(), st.none())


def optional(strategy):
    """Bad values of an argument whose default is None (None itself is valid there)."""
    return strategy.filter(lambda v: v is not None)


not_a_config = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just({"K": 8}))
not_a_float_dtype = st.one_of(
    st.sampled_from(["float16", "int64", "complex128", "xyz", np.int32, np.bool_]), st.booleans(), st.none()
)
not_a_generator = st.one_of(st.none(), st.integers(), st.just(np.random.RandomState(0)))

I3 = np.eye(3)
SMALL = ih.DataConfig(K=8, L=4, N=2, D=5, P=5, B=1, p_C=0.5)
LAW = tla.RandomDiagonalCovariance.exponential(3)
CTX = tih.SampledContexts.idealised(4, 8)
FLOW = tla.integrate_flow(I3, 5, t_max=1.0, gap_tol=None)
TRAJ = tih.integrate_nested_logits(4, 8, 0.0, t_max=1.0)
PARAMS = la.paper_init(3, 0.5)
PROMPTS = la.PromptDistribution(3)
HIST = {"step": np.array([0.0, 1.0]), "acc_ic": np.array([0.1, 0.9])}

EXPENSIVE = {"flow_vs_network"}  # baseline valid calls that train a network are left out
# (name, callable, valid keyword arguments, {argument: strategy of bad values})
ENTRIES = [
    ("gamma", tla.gamma, dict(cov=I3, N=5), {"cov": bad_covariance(), "N": count()}),
    ("global_minimizer", tla.global_minimizer, dict(cov=I3, N=5), {"cov": bad_covariance(), "N": count()}),
    ("limiting_weights", tla.limiting_weights, dict(cov=I3, N=5), {"cov": bad_covariance(), "N": count()}),
    ("minimum_loss", tla.minimum_loss, dict(cov=I3, N=5), {"cov": bad_covariance(), "N": count()}),
    (
        "population_loss",
        tla.population_loss,
        dict(u=1.0, U=I3, cov=I3, N=5),
        {"u": real, "U": bad_matrix(), "cov": bad_covariance(), "N": count()},
    ),
    (
        "population_loss_grad",
        tla.population_loss_grad,
        dict(u=1.0, U=I3, cov=I3, N=5),
        {"u": real, "U": bad_matrix(), "cov": bad_covariance(), "N": count()},
    ),
    (
        "loss_gap",
        tla.loss_gap,
        dict(V=I3, cov=I3, N=5),
        {"V": bad_matrix(), "cov": bad_covariance(), "N": count()},
    ),
    (
        "integrate_flow",
        tla.integrate_flow,
        dict(cov=I3, N=5, sigma=0.3, t_max=1.0, gap_tol=None),
        {"cov": bad_covariance(), "N": count(), "sigma": optional(positive), "t_max": positive},
    ),
    (
        "convergence_margin",
        tla.convergence_margin,
        dict(cov=I3, N=5, sigma=0.3),
        {"cov": bad_covariance(), "N": count(), "sigma": positive},
    ),
    (
        "paper_sigma",
        tla.paper_sigma,
        dict(cov=I3, N=5, factor=1.0),
        {"cov": bad_covariance(), "N": count(), "factor": positive},
    ),
    (
        "pl_rate",
        tla.pl_rate,
        dict(cov=I3, N=5, sigma=0.3),
        {"cov": bad_covariance(), "N": count(), "sigma": positive},
    ),
    (
        "stable_lr",
        tla.stable_lr,
        dict(cov=I3, N=5, factor=1.0),
        {"cov": bad_covariance(), "N": count(), "factor": positive},
    ),
    ("label_fourth_moment", tla.label_fourth_moment, dict(cov=I3), {"cov": bad_covariance()}),
    (
        "test_risk",
        tla.test_risk,
        dict(V=I3, M=5, test_cov=I3),
        {
            "V": bad_matrix(),
            "M": count().filter(lambda m: m != INF and not isinstance(m, list)),  # a list of lengths is valid
            "test_cov": bad_covariance(),
            "noise_var": nonnegative,
        },
    ),
    ("isotropic_risk", tla.isotropic_risk, dict(d=3, N=5, M=5), {"d": count(), "N": count(), "M": count()}),
    (
        "risk_bound",
        tla.risk_bound,
        dict(cov=I3, N=5, M=5),
        {"cov": bad_covariance(), "N": count(), "M": count()},
    ),
    (
        "theorem42_decomposition",
        tla.theorem42_decomposition,
        dict(cov=I3, N=5, M=5, a=np.ones(3), Sigma=I3),
        {
            "cov": bad_covariance(),
            "N": count(),
            "M": count(),
            "a": bad_matrix((3,)),
            "best_linear_error": nonnegative,
        },
    ),
    (
        "predict",
        tla.predict,
        dict(V=I3, X=np.ones((2, 4, 3)), y=np.ones((2, 4)), x_query=np.ones((2, 3))),
        {"V": bad_matrix()},
    ),
    (
        "geometric_spectrum",
        tla.geometric_spectrum,
        dict(d=3, kappa=2.0),
        {"d": count(), "kappa": st.one_of(st.floats(max_value=0.99, allow_nan=False), real)},
    ),
    (
        "toeplitz",
        tla.toeplitz,
        dict(d=3, rho=0.5),
        {"d": count(), "rho": st.one_of(st.floats(min_value=1.0, allow_nan=False), real)},
    ),
    (
        "RandomDiagonalCovariance.exponential",
        tla.RandomDiagonalCovariance.exponential,
        dict(d=3, scale=1.0),
        {"d": count(), "scale": positive},
    ),
    ("RandomDiagonalCovariance.C", LAW.C, dict(N=5), {"N": count()}),
    ("default_theta", tla.default_theta, dict(d=3), {"d": count()}),
    (
        "nested_logit_loss",
        tih.nested_logit_loss,
        dict(beta1=0.0, alpha=0.0, xi=0.0, N=4, L=8),
        {"N": count(2), "L": count(4)},
    ),
    (
        "integrate_nested_logits",
        tih.integrate_nested_logits,
        dict(N=4, L=8, init=0.0, t_max=1.0),
        {
            "N": count(2),
            "L": count(4),
            "t_max": positive,
            "level": unit,
            "loss_tol": positive,
            "init": st.one_of(st.sampled_from([NAN, INF]), st.just([0.0, 0.0]), junk),
        },
    ),
    (
        "integrate_finite_nested_logits",
        tih.integrate_finite_nested_logits,
        dict(ctx=CTX, init=0.0, t_max=1.0),
        {"t_max": positive, "level": unit, "ctx": not_a_config},
    ),
    (
        "finite_data_loss",
        tih.finite_data_loss,
        dict(theta=[0.0, 0.0, 0.0], ctx=CTX),
        {"theta": st.one_of(st.just([0.0, 0.0]), st.just([NAN, 0.0, 0.0]), junk), "ctx": not_a_config},
    ),
    ("progress_analogues", tih.progress_analogues, dict(traj=TRAJ, N=4, L=8), {"N": count(2), "L": count(4)}),
    ("origin_gradient", tih.origin_gradient, dict(N=4, L=8), {"N": count(2), "L": count(4)}),
    (
        "PromptDistribution",
        la.PromptDistribution,
        dict(d=3),
        {
            "d": count(),
            "cov": optional(bad_covariance()),
            "noise_var": nonnegative,
            "random_scale": positive,
            "random_cov": optional(choice(["exponential"])),
        },
    ),
    (
        "PromptDistribution.sample",
        PROMPTS.sample,
        dict(rng=np.random.default_rng(0), batch=2, M=3),
        {"rng": not_a_generator, "batch": count(), "M": count()},
    ),
    (
        "linear_attention.train",
        la.train,
        dict(dist=PROMPTS, config=la.TrainConfig(steps=2, batch=2, eval_size=4)),
        {"dist": not_a_config, "config": not_a_config},
    ),
    (
        "flow_vs_network",
        la.flow_vs_network,
        dict(cov=I3, N=5),
        {
            "cov": bad_covariance(),
            "N": count(),
            "sigma_factor": positive,
            "lr_factor": positive,
            "batch": count(),
            "train_gap": unit,
            "average_steps": count(),
            "seed": count(0),
        },
    ),
    (
        "mc_risk",
        la.mc_risk,
        dict(predict=la.zero_predict, dist=PROMPTS, M=3, n=10, rng=np.random.default_rng(0)),
        {"M": count(), "n": count(2)},
    ),
    ("ridge_predict", la.ridge_predict, dict(lam=1.0), {"lam": nonnegative}),
    ("optimal_ridge_penalty", la.optimal_ridge_penalty, dict(noise_var=1.0), {"noise_var": nonnegative}),
    ("Task", ih.Task, dict(cfg=SMALL), {"cfg": not_a_config}),
    (
        "Task.sample",
        ih.Task(SMALL).sample,
        dict(rng=np.random.default_rng(0), n=2),
        {
            "rng": not_a_generator,
            "n": count(),
            "kind": choice(["train", "iw", "ic", "ic2", "bursty"]),
            "dtype": not_a_float_dtype,
        },
    ),
    (
        "standard_normal",
        standard_normal,
        dict(rng=np.random.default_rng(0), shape=(2, 3), dtype=np.float32),
        {
            "dtype": not_a_float_dtype,
            "shape": st.one_of(st.just((-1,)), st.just((2.5,)), st.text(min_size=1)),
        },
    ),
    (
        "induction_head.train",
        ih.train,
        dict(data=SMALL, config=ih.TrainConfig(steps=1, batch=2, eval_size=10)),
        {"data": not_a_config, "config": not_a_config, "model": choice(["network", "minimal"])},
    ),
    ("theory_contexts", ih.theory_contexts, dict(data=SMALL, n=3), {"n": count()}),
    (
        "measured_state",
        ih.measured_state,
        dict(
            model="minimal",
            params=ih.MinimalInductionHead(SMALL.P).init_params(SMALL, np.random.default_rng(0)),
            data=SMALL,
            n=20,
        ),
        {"n": count(), "data": not_a_config, "model": choice(["network", "minimal"])},
    ),
    (
        "transition_step",
        ih.transition_step,
        dict(history=HIST, data=SMALL),
        {"history": st.one_of(junk, st.just({"step": [0.0]})), "data": not_a_config},
    ),
    ("plateau", ih.plateau, dict(data=SMALL), {"data": not_a_config}),
]


@pytest.mark.parametrize(
    "name, fn, good, arg, bad",
    [(n, f, g, a, s) for n, f, g, args in ENTRIES for a, s in args.items()],
    ids=[f"{n}:{a}" for n, _, _, args in ENTRIES for a in args],
)
def test_public_functions_reject_bad_values_by_name(name, fn, good, arg, bad):
    if name not in EXPENSIVE:
        fn(**good)  # the baseline call is valid

    @settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(bad)
    def check(value):
        TRIED["functions"] += 1
        with pytest.raises(ValueError, match=arg.split(".")[-1]):
            fn(**{**good, arg: value})

    check()


def bad_for(typ):
    origin = typing.get_origin(typ)
    if origin is tuple:
        inner = typing.get_args(typ)[0]
        return st.one_of(
            st.just(("x",)) if inner is not str else st.just((1,)),
            st.just((True,)) if inner is int else st.just((NAN,)),
            st.text(max_size=3),
            st.none(),
        )
    if origin in (typing.Union,):
        return st.one_of(st.just([1]), st.just({"a": 1}))
    if typ is bool:
        return st.one_of(st.integers(), st.text(max_size=3), st.none(), st.floats())
    if typ is int:
        return st.one_of(st.booleans(), st.floats(allow_nan=True), st.text(max_size=3), st.none())
    if typ is float:
        return st.one_of(st.sampled_from([NAN, INF, -INF]), st.booleans(), st.text(max_size=3), st.none())
    if typ is str:
        return st.one_of(st.integers(), st.booleans(), st.none(), st.text(max_size=4).map(lambda s: "#" + s))
    return st.one_of(st.none(), st.integers())


def config_fields():
    seen, out = set(), []
    for name, exp in EXPERIMENTS.items():
        cfg = exp.config("quick")
        hints = {}
        for f in leaf_fields(cfg):
            key = (type(cfg).__name__, f.path)
            if key not in seen:
                seen.add(key)
                out.append((name, f.path, f.type))
        del hints
    for cfg in (la.TrainConfig(), ih.TrainConfig(), ih.DataConfig()):
        for f in leaf_fields(cfg):
            out.append((type(cfg).__module__ + "." + type(cfg).__name__, f.path, f.type))
    return out


def _base(owner):
    if owner in EXPERIMENTS:
        return EXPERIMENTS[owner].config("quick")
    return {
        "simulations.linear_attention.training.TrainConfig": la.TrainConfig(),
        "simulations.induction_head.training.TrainConfig": ih.TrainConfig(),
        "simulations.induction_head.data.DataConfig": ih.DataConfig(),
    }[owner]


@pytest.mark.parametrize("owner, path, typ", config_fields(), ids=[f"{o}:{p}" for o, p, _ in config_fields()])
def test_every_config_field_rejects_bad_values_by_name(owner, path, typ):
    base = _base(owner)

    @settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(bad_for(typ))
    def check(value):
        TRIED["config fields"] += 1
        with pytest.raises(ValueError, match=f"'{path.rpartition('.')[2]}'"):
            replace_path(base, path, value)

    check()


def test_zz_report_the_count(capsys):
    """Runs last in this file: how many bad values were tried (all were rejected with a named error)."""
    if not TRIED:
        pytest.skip("run the whole file to count")
    with capsys.disabled():
        print(
            f"\nbad-input test: {TRIED['functions']} bad values for {len(ENTRIES)} public entry points and "
            f"{TRIED['config fields']} for {len(config_fields())} config fields, all rejected with named "
            "errors"
        )
    assert TRIED["functions"] > 500 and TRIED["config fields"] > 400
    assert math.isfinite(sum(TRIED.values()))
