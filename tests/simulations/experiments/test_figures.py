"""Every figure draws the saved results it claims to draw.

Each experiment of the catalogue is run once at a tiny configuration and saved; its ``plot`` is then called
on the run read back from disk, with ``Figure.savefig`` wrapped to record each Figure before it is written.
The recorded figures are compared with the saved arrays and metrics: line data, one curve per seed, case
or N, images against the saved accuracies, error bars against the checks' 4 standard errors, labelled axes,
legends that say which lines are theory and which simulation, and a PNG and an SVG file per figure.
Assertions that a plot function fails today are marked ``xfail(strict=True)`` with the defect as reason.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest

from simulations import plotting
from simulations.config import to_dict
from simulations.experiments.catalogue import EXPERIMENTS
from simulations.experiments.kit import Context
from simulations.storage import SavedRun, load_run, write_run
from tests.tiny import TINY_DATA

pytestmark = pytest.mark.filterwarnings(
    "ignore::simulations.linear_attention.training.AveragingWindowWarning",
    "ignore:No artists with labels found:UserWarning",
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# every experiment at a size that runs in seconds
TINY = {
    "linear-attention-symbolic": ("trials=1",),
    "linear-attention-flow": (
        "dims=2",
        "batch=16",
        "average_steps=20",
        "train_gap=0.1",
        "condition_factors=0.5,4",
    ),
    "linear-attention-random-init": ("d=2", "N=5", "seeds=0,1", "time=2", "batch=8"),
    "linear-attention-risk": ("d=2", "Ns=3,5", "Ms=1,4", "n_mc=100", "batch=16", "average_steps=10"),
    "linear-attention-shifts": (
        "d=2",
        "N=5",
        "Ms=2,8",
        "scales=4",
        "n_mc=100",
        "batch=16",
        "average_steps=10",
    ),
    "linear-attention-random-cov": (
        "d=2",
        "Ns=5,10",
        "train_Ns=5,10",
        "n_moment_samples=100",
        "M_test=5",
        "n_mc=100",
        "batch=16",
        "average_steps=10",
    ),
    "linear-attention-nonlinear-covariate-shift": (
        "model.d=2",
        "model.width=8",
        "model.layers=1",
        "model.heads=2",
        "train.N=4",
        "model.max_examples=9",
        "train.steps=20",
        "train.warmup=2",
        "train.eval_every=10",
        "train.eval_size=16",
        "seeds=0,1",
        "scales=4",
        "n_test=40",
        "n_boot=10",
        "lsa_average_steps=10",
    ),
    "induction-head-nested-logits": ("N=2", "Ns=2,3", "Ls=4,8", "L=4", "inits=0,0.1"),
    "induction-head-curves": (*TINY_DATA, "seeds=0,1"),
    "induction-head-minimal": (*TINY_DATA, "seeds=0,1"),
    "induction-head-side-by-side": (*TINY_DATA, "theory_contexts=20"),
    "induction-head-transition": ("Ns=2", "L_multiples=1,2", "seeds=0,1", "theory_contexts=20", *TINY_DATA),
    "induction-head-initial-state": (*TINY_DATA, "init_scales=0.5,1", "seeds=0,1", "state_sequences=50"),
    "induction-head-data-dependence": (
        "Ks=8,16",
        "Bs=0,1",
        "epsilons=0.1,0.5",
        "alphas=0,1",
        "mixture_p_B=0.5",
        "mixture_p_C=0.5",
        "seeds=0,1",
        "theory_contexts=20",
        *TINY_DATA,
    ),
}
DRAWN = [n for n in EXPERIMENTS if n != "linear-attention-symbolic"]  # the symbolic one draws nothing


def test_every_experiment_has_a_tiny_config():
    assert set(TINY) == set(EXPERIMENTS)


# ---------------------------------------------------------------------------------------------- drawing
@dataclasses.dataclass
class Drawn:
    """A saved run (read back from disk), what its ``plot`` returned, and every ``savefig`` call."""

    run: SavedRun
    returned: list[Path]
    saves: list[tuple[matplotlib.figure.Figure, Path]]

    @property
    def figs(self) -> dict[str, matplotlib.figure.Figure]:
        return {p.stem: f for f, p in self.saves}

    def axes(self, stem: str) -> list:
        return self.figs[stem].axes


def record_savefig(monkeypatch, saves: list) -> None:
    """Wrap ``Figure.savefig`` so that each call records (figure, path) before the file is written.

    ``plotting.save`` writes each file atomically: savefig gets a temporary name, and the path recorded is
    the final one that ``plotting.write_atomic`` is writing at that moment.
    """
    original, original_atomic = matplotlib.figure.Figure.savefig, plotting.write_atomic
    writing = []

    def atomic(path, write, *args, **kwargs):
        writing.append(Path(path))
        try:
            return original_atomic(path, write, *args, **kwargs)
        finally:
            writing.pop()

    def recording(fig, fname, *args, **kwargs):
        saves.append((fig, writing[-1] if writing else Path(fname)))
        return original(fig, fname, *args, **kwargs)

    monkeypatch.setattr(plotting, "write_atomic", atomic)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", recording)


def save_tiny_run(name: str, root: Path, overrides=None) -> Path:
    """Run ``name`` at its tiny config and save it (no figures) under ``root/name/run``."""
    exp = EXPERIMENTS[name]
    cfg = exp.config("quick", TINY[name] if overrides is None else overrides)
    outcome = exp.execute(cfg, Context())
    path = root / name / "run"
    write_run(path, name, "quick", to_dict(cfg), outcome.metrics(), outcome.arrays)
    return path


def plot_saved(name: str, path: Path) -> Drawn:
    """Draw a saved run's figures from its files, recording every figure."""
    saves = []
    with pytest.MonkeyPatch.context() as mp:
        record_savefig(mp, saves)
        returned = EXPERIMENTS[name].plot(load_run(path), path / "figures")
    return Drawn(load_run(path), [Path(p) for p in returned], saves)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """``drawn(name)``: the experiment's tiny run, saved and drawn once per module."""
    cache = {}

    def get(name: str) -> Drawn:
        if name not in cache:
            cache[name] = plot_saved(name, save_tiny_run(name, tmp_path_factory.mktemp("runs")))
        return cache[name]

    return get


# ---------------------------------------------------------------------------------------------- helpers
def is_hline(ax, line) -> bool:
    return line.get_transform() is ax.get_yaxis_transform(which="grid")


def is_vline(ax, line) -> bool:
    return line.get_transform() is ax.get_xaxis_transform(which="grid")


def xy(line) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def data_lines(ax) -> list:
    """Lines that draw data: not legend proxies (no points), not axhline/axvline."""
    return [ln for ln in ax.lines if len(ln.get_xdata()) and not is_hline(ax, ln) and not is_vline(ax, ln)]


def equal(a, b) -> bool:
    """Equal shapes and values up to float rounding (NaN equal to NaN)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True))


def lines_with(ax, x, y) -> list:
    return [ln for ln in data_lines(ax) if equal(xy(ln)[0], x) and equal(xy(ln)[1], y)]


def one_line(ax, x, y):
    """The one data line of ``ax`` that draws exactly (x, y)."""
    found = lines_with(ax, x, y)
    assert len(found) == 1, f"{len(found)} lines draw this data on {ax.get_title()!r}"
    return found[0]


def hline_values(ax) -> list[float]:
    return [float(ln.get_ydata()[0]) for ln in ax.lines if is_hline(ax, ln)]


def assert_band(ax, xs, ys, label: str | None = None) -> None:
    """Seeds as a band (simulations.plotting.band): one thin line per seed with its own data, the mean on the
    first seed's grid, and a fill between the minimum and the maximum over seeds."""
    x0 = np.asarray(xs[0], float)
    Y = np.array([np.interp(x0, x, y) for x, y in zip(xs, ys, strict=True)])
    for x, y in zip(xs, ys, strict=True):
        assert lines_with(ax, x, y), "a seed's curve is missing"
    mean = one_line(ax, x0, Y.mean(axis=0))
    if label is not None:
        assert mean.get_label() == f"{label} (n = {len(xs)})"
    fills = [
        c
        for c in ax.collections
        if type(c).__name__ == "FillBetweenPolyCollection" and _fill_matches(c, x0, Y.min(0), Y.max(0))
    ]
    assert len(fills) == 1, "the band's min–max fill is missing or drawn twice"


def _fill_matches(coll, x0, lo, hi) -> bool:
    """The fill spans [lo, hi] at every x where both are finite (fill_between leaves NaN gaps unfilled)."""
    v = coll.get_paths()[0].vertices
    for x, a, b in zip(x0, lo, hi, strict=True):
        ys = v[v[:, 0] == x, 1]
        if not (np.isfinite(a) and np.isfinite(b)):
            if len(ys):
                return False
            continue
        if not len(ys) or not (np.isclose(ys.min(), min(a, b)) and np.isclose(ys.max(), max(a, b))):
            return False
    return True


def errorbar_halfwidths(container) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y centre, half-height) of an ErrorbarContainer's vertical bars."""
    seg = np.array(container.lines[2][0].get_segments(), float)  # (n, 2 ends, xy)
    return seg[:, 0, 0], (seg[:, 0, 1] + seg[:, 1, 1]) / 2, (seg[:, 1, 1] - seg[:, 0, 1]) / 2


def errorbars(ax) -> list:
    return [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]


def errorbar_for(ax, x, y):
    """The error-bar container whose data line draws (x, y)."""
    found = [c for c in errorbars(ax) if equal(xy(c.lines[0])[0], x) and equal(xy(c.lines[0])[1], y)]
    assert len(found) == 1
    return found[0]


def legend_texts(ax) -> list[str]:
    lg = ax.get_legend()
    return [] if lg is None else [t.get_text() for t in lg.get_texts()]


def has_data(ax) -> bool:
    return bool(data_lines(ax) or ax.images or ax.patches or ax.collections)


def unlabelled_axes(fig) -> list[tuple[int, str]]:
    """(index, what is missing) of the axes that draw data but lack an x or a y label (a twin takes the x
    label of the axes it shares; colour bars are not counted)."""
    bad = []
    for i, ax in enumerate(fig.axes):
        if ax.get_label() == "<colorbar>" or not has_data(ax):
            continue
        xlab = any(a.get_xlabel() for a in ax.get_shared_x_axes().get_siblings(ax))
        missing = "/".join(k for k, ok in (("x", xlab), ("y", bool(ax.get_ylabel()))) if not ok)
        if missing:
            bad.append((i, missing))
    return bad


# ------------------------------------------------------------------------- files, labels and legends
def _xfail(reason: str, **kw):
    return pytest.mark.xfail(strict=True, reason=reason, **kw)


@pytest.mark.parametrize("name", DRAWN)
def test_each_figure_is_saved_once_as_png_and_svg(drawn, name):
    d = drawn(name)
    fig_dir = d.run.path / "figures"
    assert d.saves, "no figure drawn"
    by_fig = {}
    for fig, path in d.saves:
        by_fig.setdefault(id(fig), []).append(path)
    for paths in by_fig.values():
        assert sorted(p.suffix for p in paths) == [".png", ".svg"]
        assert len({p.stem for p in paths}) == 1
    stems = [paths[0].stem for paths in by_fig.values()]
    assert len(set(stems)) == len(stems), "two figures saved under one name"
    saved = sorted(p for _, p in d.saves)
    assert sorted(d.returned) == saved  # plot returns exactly the files it wrote
    assert sorted(fig_dir.iterdir()) == saved  # and wrote nothing else
    for p in saved:
        assert p.parent == fig_dir and p.stat().st_size > 0
        head = p.read_bytes()[:200]
        if p.suffix == ".png":
            assert head.startswith(PNG_SIGNATURE)
            img = matplotlib.image.imread(p)
            fig = d.figs[p.stem]
            w, h = fig.get_size_inches() * 110  # plotting.save: dpi 110
            assert img.shape[:2] == (round(h), round(w))
        else:
            assert b"<svg" in head


# experiment -> (the axes without a label: {(figure, axes index): missing}, the defect); none known today
LABEL_DEFECTS: dict[str, tuple[dict, str]] = {}


def _unlabelled(d: Drawn) -> dict:
    return {(stem, i): miss for stem, fig in d.figs.items() for i, miss in unlabelled_axes(fig)}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=_xfail(LABEL_DEFECTS[n][1])) if n in LABEL_DEFECTS else n for n in DRAWN]
)
def test_every_axes_with_data_is_labelled(drawn, name):
    assert _unlabelled(drawn(name)) == {}


@pytest.mark.parametrize("name", DRAWN)
def test_no_axes_lack_labels_beyond_the_known_defects(drawn, name):
    """Guards the experiments marked xfail above: nothing else becomes unlabelled."""
    known = LABEL_DEFECTS.get(name, ({}, ""))[0]
    assert _unlabelled(drawn(name)) == known


# (experiment, figure, indices of the axes whose legends together cover a panel that draws both, defect)
LEGENDS = [
    ("linear-attention-flow", "flow_vs_network", (0,), None),
    ("linear-attention-flow", "flow_vs_network", (2,), None),  # the (u·U)_ii row: ODE, network and Γ⁻¹
    ("linear-attention-random-init", "random_init", (0,), None),
    ("linear-attention-risk", "risk_vs_length", (0,), None),
    ("linear-attention-shifts", "shifts", (0,), None),
    ("linear-attention-random-cov", "random_cov", (0,), None),
    ("induction-head-curves", "training_curves", (0,), None),
    ("induction-head-minimal", "training_curves", (0,), None),
    ("induction-head-side-by-side", "side_by_side", (0,), None),
    ("induction-head-transition", "transition_times", (0,), None),
    ("induction-head-initial-state", "initial_state", (0, 1), None),
    ("induction-head-data-dependence", "epsilon_alpha_mixture", (0, 3), None),
]


@pytest.mark.parametrize(
    ("name", "stem", "axes"),
    [
        pytest.param(n, s, a, marks=[_xfail(why)] if why else [], id=f"{n}-{s}-axes{','.join(map(str, a))}")
        for n, s, a, why in LEGENDS
    ],
)
def test_legends_name_theory_and_simulation(drawn, name, stem, axes):
    texts = [t.lower() for i in axes for t in legend_texts(drawn(name).axes(stem)[i])]
    assert any("theory" in t for t in texts) and any("simulation" in t for t in texts), texts


# ---------------------------------------------------------------------------------------------- symbolic
@pytest.mark.slow
def test_symbolic_draws_nothing_from_a_real_run(tmp_path):
    d = plot_saved("linear-attention-symbolic", save_tiny_run("linear-attention-symbolic", tmp_path))
    assert d.returned == [] and d.saves == [] and list((d.run.path / "figures").iterdir()) == []


def test_symbolic_draws_nothing(tmp_path):
    """Its outcome has no summary and no arrays (only checks): a run of that shape draws no figure."""
    path = tmp_path / "linear-attention-symbolic" / "run"
    cfg = EXPERIMENTS["linear-attention-symbolic"].config("quick", TINY["linear-attention-symbolic"])
    write_run(path, "linear-attention-symbolic", "quick", to_dict(cfg), {"checks": []}, {})
    d = plot_saved("linear-attention-symbolic", path)
    assert d.returned == [] and d.saves == [] and list((path / "figures").iterdir()) == []


# ---------------------------------------------------------------------------------- linear attention
def test_flow_draws_ode_and_network_per_case(drawn):
    d = drawn("linear-attention-flow")
    a, cases = d.run.arrays, d.run.metrics["cases"]
    assert [c["key"] for c in cases] == ["d2_isotropic", "d2_anisotropic"]
    axes = d.axes("flow_vs_network")
    n = len(cases)
    assert len(axes) == 2 * n  # one column per case
    for j, c in enumerate(cases):
        k, top, bottom = c["key"], axes[j], axes[n + j]
        assert top.get_title() == f"d = {c['d']}, {c['kind']}"
        assert one_line(top, a[f"{k}/ode_t"], a[f"{k}/ode_gap"]).get_color() == "k"
        assert one_line(top, a[f"{k}/net_t"], a[f"{k}/net_gap"]).get_marker() == "."
        assert len(data_lines(top)) == 2 and top.get_yscale() == "log"
        target = a[f"{k}/target"]
        ode = [a[f"{k}/ode_V"][:, i, i] for i in range(target.shape[0])]  # d = 2: every diagonal entry
        net = [a[f"{k}/net_V"][:, i, i] for i in range(target.shape[0])]
        for i in range(target.shape[0]):  # equal entries (Λ = I) draw equal lines, one each
            assert len(lines_with(bottom, a[f"{k}/ode_tU"], ode[i])) == sum(equal(v, ode[i]) for v in ode)
            assert len(lines_with(bottom, a[f"{k}/net_t"], net[i])) == sum(equal(v, net[i]) for v in net)
        assert len(data_lines(bottom)) == 2 * target.shape[0]
        assert hline_values(bottom) == list(np.diag(target))


@pytest.mark.slow
def test_flow_draws_every_diagonal_entry_at_d5(tmp_path):
    overrides = ("dims=5", "batch=16", "average_steps=20", "train_gap=0.1", "condition_factors=0.5,4")
    d = plot_saved("linear-attention-flow", save_tiny_run("linear-attention-flow", tmp_path, overrides))
    a, axes = d.run.arrays, d.axes("flow_vs_network")
    n = len(d.run.metrics["cases"])
    for j, c in enumerate(d.run.metrics["cases"]):
        k, bottom = c["key"], axes[n + j]
        target = a[f"{k}/target"]
        assert len(hline_values(bottom)) == target.shape[0] == 5
        assert hline_values(bottom) == list(np.diag(target))
        ode = [ln for ln in data_lines(bottom) if ln.get_marker() == "None"]
        net = [ln for ln in data_lines(bottom) if ln.get_marker() == "."]
        gamma = [ln for ln in bottom.lines if is_hline(bottom, ln)]
        assert len(ode) == len(net) == len(data_lines(bottom)) // 2 == 5
        for i in range(5):  # the ODE and the network for every entry, each in the colour of its Γ⁻¹ line
            assert equal(xy(ode[i])[0], a[f"{k}/ode_tU"]) and equal(xy(ode[i])[1], a[f"{k}/ode_V"][:, i, i])
            assert equal(xy(net[i])[0], a[f"{k}/net_t"]) and equal(xy(net[i])[1], a[f"{k}/net_V"][:, i, i])
            assert net[i].get_color() == gamma[i].get_color()
        assert len({ln.get_color() for ln in gamma}) == 5  # no colour used twice
        assert bottom.get_title() == ""  # nothing left out, nothing to say


def test_flow_diagonal_entries_beyond_the_palette_are_named():
    """Above the 7 non-black colours, 7 entries spread from the first to the last are drawn, and the panel
    title names them."""
    from simulations.experiments.linear_attention.flow import _diagonal_entries

    assert _diagonal_entries(5) == [0, 1, 2, 3, 4]
    assert _diagonal_entries(7) == list(range(7))
    shown = _diagonal_entries(10)
    assert len(shown) == 7 and shown[0] == 0 and shown[-1] == 9 and shown == sorted(set(shown))


def test_flow_convergence_condition_draws_every_factor(drawn):
    d = drawn("linear-attention-flow")
    (ax,) = d.axes("convergence_condition")
    rows = d.run.metrics["condition"]
    assert {r["condition_holds"] for r in rows} == {True, False}  # factors 0.5 and 4
    assert len(data_lines(ax)) == len(rows)
    for r in rows:
        f = r["factor"]
        ln = one_line(ax, d.run.arrays[f"condition/{f:g}/t"], d.run.arrays[f"condition/{f:g}/gap"])
        assert ln.get_linestyle() == ("-" if r["condition_holds"] else "--")
        assert f"{f:g}" in ln.get_label() and "theory" in ln.get_label()


def test_random_init_draws_every_seed(drawn):
    d = drawn("linear-attention-random-init")
    m, a = d.run.metrics, d.run.arrays
    seeds = [r["seed"] for r in m["seeds"]]
    assert seeds == [0, 1]
    loss_ax, err_ax = d.axes("random_init")
    t = [a[f"seed{s}/t"] for s in seeds]
    assert_band(loss_ax, t, [a[f"seed{s}/loss"] for s in seeds], "simulation: seeds")
    assert_band(err_ax, t, [a[f"seed{s}/rel_error"] for s in seeds], "seeds")
    assert len(data_lines(loss_ax)) == len(data_lines(err_ax)) == len(seeds) + 1
    assert hline_values(loss_ax) == [m["min_loss"], m["zero_predictor_loss"]]
    assert err_ax.get_yscale() == "log"


def test_risk_draws_formula_monte_carlo_and_network_per_N(drawn):
    d = drawn("linear-attention-risk")
    m, a = d.run.metrics, d.run.arrays
    (ax,) = d.axes("risk_vs_length")
    Ms = a["Ms"]
    checks = {c["name"]: c for c in d.run.checks}
    assert m["Ns"] == [3, 5] and list(Ms) == [1, 4]
    for N in m["Ns"]:
        theory = one_line(ax, Ms, a[f"N{N}/formula"])
        assert theory.get_label() == f"N = {N}: theory, exact finite-M risk"
        bars = errorbar_for(ax, Ms, a[f"N{N}/mc"])
        x, centre, half = errorbar_halfwidths(bars)
        assert equal(x, Ms) and equal(centre, a[f"N{N}/mc"])
        assert equal(half, 4 * a[f"N{N}/mc_se"])  # the monte_carlo check's tolerance, 4 s.e.
        tol = [checks[f"risk formula vs Monte Carlo (N={N}, M={M})"]["tolerance"] for M in Ms]
        assert equal(half, tol)
        assert one_line(ax, Ms, a[f"N{N}/net"]).get_marker() == "x"
    assert one_line(ax, Ms, a[f"N{m['Ns'][0]}/ols"]).get_label() == "OLS (Monte Carlo)"
    # per N: the formula, the Monte Carlo marks, the network's marks and the formula at its own u·U
    assert len(data_lines(ax)) == 4 * len(m["Ns"]) + 1
    assert len(errorbars(ax)) == 2 * len(m["Ns"])  # Monte Carlo and network, each ± 4 s.e.
    assert hline_values(ax) == [m["networks"][str(N)]["limit"] for N in m["Ns"]]
    assert any("4 s.e." in t for t in legend_texts(ax))


def test_risk_draws_what_the_network_check_compares(drawn):
    """The network's check is |net − net_formula| ≤ 4 net_se: both sides and the tolerance are drawn."""
    d = drawn("linear-attention-risk")
    a, Ms = d.run.arrays, d.run.arrays["Ms"]
    (ax,) = d.axes("risk_vs_length")
    checks = {c["name"]: c for c in d.run.checks}
    for N in d.run.metrics["Ns"]:
        bars = errorbar_for(ax, Ms, a[f"N{N}/net"])
        x, centre, half = errorbar_halfwidths(bars)
        assert equal(x, Ms) and equal(centre, a[f"N{N}/net"])
        assert equal(half, 4 * a[f"N{N}/net_se"])
        tol = [checks[f"trained network vs formula at its own u·U (N={N}, M={M})"]["tolerance"] for M in Ms]
        assert equal(half, tol)
        (formula,) = lines_with(ax, Ms, a[f"N{N}/net_formula"])
        assert formula.get_color() == bars.lines[0].get_color()  # in the colour of its N
        assert formula.get_linewidth() < one_line(ax, Ms, a[f"N{N}/formula"]).get_linewidth()  # thin
    assert any("theory" in t and "network's own u·U" in t for t in legend_texts(ax))


def test_shifts_draws_every_case_in_its_family_panel(drawn):
    d = drawn("linear-attention-shifts")
    a, cases, Ms = d.run.arrays, d.run.metrics["cases"], d.run.arrays["Ms"]
    checks = {c["name"]: c for c in d.run.checks}
    assert len(cases) == 7  # no shift; W = 4I, fixed w, label noise; Q = 4I, Q anisotropic; S = Q = 4I
    axes = d.axes("shifts")
    drawn_cases = set()
    for ax, fam in zip(axes, ("task", "query", "covariate", "length"), strict=True):
        want = [0] + [i for i, c in enumerate(cases) if c["family"] == fam and i != 0]
        for i in want:  # equal formulas (tr Q = d is the unshifted risk at Γ⁻¹ ∝ I) draw equal lines
            found = lines_with(ax, Ms, a[f"case{i}/formula"])
            assert [ln.get_label() for ln in found].count(cases[i]["label"]) == 1
            x, centre, half = errorbar_halfwidths(errorbar_for(ax, Ms, a[f"case{i}/mc"]))
            assert equal(x, Ms) and equal(centre, a[f"case{i}/mc"])
            assert equal(half, 4 * a[f"case{i}/mc_se"])  # the monte_carlo check's tolerance
            label = cases[i]["label"]
            assert equal(half, [checks[f"{label}: formula vs Monte Carlo (M={M})"]["tolerance"] for M in Ms])
            assert one_line(ax, Ms, a[f"case{i}/net"]).get_marker() == "x"
        assert len(errorbars(ax)) == len(want)
        solid = [ln for ln in data_lines(ax) if ln.get_linestyle() == "-" and ln.get_marker() == "None"]
        assert len(solid) == len([ln for ln in data_lines(ax) if ln.get_marker() == "x"]) == len(want)
        proxies = legend_texts(ax)[len(want) :]
        assert legend_texts(ax)[: len(want)] == [cases[i]["label"] for i in want]
        assert ax.get_ylabel()  # every panel: the panels do not share y
        if ax is axes[0]:  # the first panel's legend says which marks are theory and which simulation
            assert [t.split(":")[0] for t in proxies] == ["theory", "simulation", "simulation"]
        else:
            assert proxies == []
        drawn_cases |= set(want)
    assert drawn_cases == set(range(len(cases)))  # no case dropped
    assert any("4 s.e." in t for t in legend_texts(axes[0]))


def test_random_cov_draws_minimiser_and_every_trained_N(drawn):
    d = drawn("linear-attention-random-cov")
    m, a = d.run.metrics, d.run.arrays
    left, right = d.axes("random_cov")
    one_line(left, a["Ns"], a["v_theory"])
    assert one_line(left, a["Ns"], a["v_sampled"]).get_marker() == "o"
    assert list(m["trained"]) == ["5", "10"]
    for N, r in m["trained"].items():
        ln = one_line(left, [int(N)], [r["v_network"]])
        assert ln.get_label() == f"simulation: trained network (N = {N})"
    assert len(data_lines(left)) == 2 + len(m["trained"])
    assert hline_values(left) == [m["limit"]]
    bars = [c for c in right.containers if type(c).__name__ == "BarContainer"]
    assert len(bars) == len(m["trained"])  # one group of four bars per trained N
    for group, r in zip(bars, m["trained"].values(), strict=True):
        p = r["real_prompts"]
        want = [p["risk"], p["risk_theory"], p["ols_risk"], p["zero_risk"]]
        assert equal([b.get_height() for b in group.patches], want)
        _, centre, half = errorbar_halfwidths(group.errorbar)
        assert equal(centre, want)
        se = [p["risk_se"], p["risk_theory_se"], p["ols_risk_se"], 0.0]
        assert equal(half, 4 * np.array(se))  # "bars: 4 s.e."
    risks = ("risk", "risk_theory", "ols_risk", "zero_risk")
    printed = [f"{r['real_prompts'][k]:.3g}" for r in m["trained"].values() for k in risks]
    assert [t.get_text() for t in right.texts] == printed


def test_random_cov_bar_groups_say_which_N(drawn):
    d = drawn("linear-attention-random-cov")
    right = d.axes("random_cov")[1]
    texts = [right.get_title(), *legend_texts(right), *(t.get_text() for t in right.get_xticklabels())]
    for N, r in d.run.metrics["trained"].items():
        assert any(f"N = {N}" in t for t in texts)
        assert f"{r['real_prompts']['slope']:.2f}" in right.get_title()
    assert legend_texts(right) == [f"N = {N}" for N in d.run.metrics["trained"]]  # one entry a group
    bars = [c for c in right.containers if type(c).__name__ == "BarContainer"]
    centres = np.mean([[p.get_x() + p.get_width() / 2 for p in group.patches] for group in bars], axis=0)
    assert equal(centres, right.get_xticks())  # each tick sits under the middle of its predictor's bars
    lefts = sorted(p.get_x() for group in bars for p in group.patches)
    rights = sorted(p.get_x() + p.get_width() for group in bars for p in group.patches)
    assert all(hi <= lo + 1e-12 for hi, lo in zip(rights[:-1], lefts[1:], strict=True))  # no bars overlap


# ----------------------------------------------------------------------------------- induction head
def test_nested_logits_trajectory_and_landscape(drawn):
    d = drawn("induction-head-nested-logits")
    m, a = d.run.metrics, d.run.arrays
    params_ax, depth_ax = d.axes("nested_logits_trajectory")
    t, P = a["traj/t"], a["traj/params"]
    for k, name in enumerate(("β₁", "α", "ξ")):
        assert one_line(params_ax, t, P[:, k]).get_label() == f"theory: {name}"
    assert one_line(params_ax, t, 10 * a["traj/p_right"]).get_label() == "theory: 10 × P(right label)"
    assert len(data_lines(params_ax)) == 4
    (vline,) = [ln for ln in params_ax.lines if is_vline(params_ax, ln)]
    assert list(vline.get_xdata()) == [m["transition_time"]] * 2
    for depth in (1, 2, 3):
        one_line(depth_ax, a[f"depth{depth}/t"], a[f"depth{depth}/p_right"])
    one_line(depth_ax, a["frozen/t"], a["frozen/p_right"])
    assert len(data_lines(depth_ax)) == 4
    assert hline_values(depth_ax) == [1 / m["N"]]

    land, vs_N, vs_L, _colorbar = d.axes("nested_logits_landscape")
    (cs,) = [c for c in land.collections if type(c).__name__ == "QuadContourSet"]
    assert cs.zmin == a["land/loss"].min() and cs.zmax == a["land/loss"].max()
    one_line(land, P[:, 1] / (1 + np.exp(-P[:, 0])), P[:, 2])
    for i, init in enumerate(a["inits"]):
        assert one_line(vs_N, a["Ns"], a["t_vs_N"][i]).get_label() == f"init {init:g}"
        assert one_line(vs_L, a["Ls"], a["t_vs_L"][i]).get_label() == f"init {init:g}"
    assert len(data_lines(vs_N)) == len(data_lines(vs_L)) == len(a["inits"]) == 2
    assert np.isfinite(a["t_vs_N"]).all() and np.isfinite(a["t_vs_L"]).all()  # every point is visible


@pytest.mark.slow
def test_nested_logits_marks_settings_without_transition(tmp_path):
    overrides = ("N=2", "Ns=2,4", "Ls=4,8", "L=4", "inits=0,0.1")  # N = L = 4 from the origin: no transition
    name = "induction-head-nested-logits"
    d = plot_saved(name, save_tiny_run(name, tmp_path, overrides))
    a = d.run.arrays
    assert np.isnan(a["t_vs_N"]).sum() == 1
    vs_N, vs_L = d.axes("nested_logits_landscape")[1:3]
    noted = [t.get_text() for t in vs_N.texts] + legend_texts(vs_N)
    drawn_finite = all(np.isfinite(xy(ln)[1]).all() for ln in data_lines(vs_N))
    assert drawn_finite or any("no transition" in t for t in noted)
    # the missing time is marked on the top edge (x in data, y in axes units), at its N, in its init's colour
    (i,), (n,) = np.nonzero(np.isnan(a["t_vs_N"]))
    (mark,) = [ln for ln in vs_N.lines if is_vline(vs_N, ln)]
    assert list(mark.get_xdata()) == [a["Ns"][n]] and list(mark.get_ydata()) == [1.0]
    assert mark.get_color() == one_line(vs_N, a["Ns"], a["t_vs_N"][i]).get_color()
    assert not any("no transition" in t for t in legend_texts(vs_L))  # every L panel time is finite
    assert np.isfinite(a["t_vs_L"]).all()


@pytest.mark.parametrize("name", ["induction-head-curves", "induction-head-minimal"])
def test_curves_draw_every_seed(drawn, name):
    d = drawn(name)
    m, a = d.run.metrics, d.run.arrays
    seeds = [r["seed"] for r in m["seeds"]]
    assert seeds == [0, 1]
    steps = [a[f"seed{s}/step"] for s in seeds]
    acc, loss = d.axes("training_curves")
    for k, label in (
        ("acc_ic", "IC (novel classes)"),
        ("acc_ic2", "IC2 (swapped labels)"),
        ("acc_iw", "IW"),
        ("acc_train", "train"),
    ):
        assert_band(acc, steps, [a[f"seed{s}/{k}"] for s in seeds], label)
    assert len(data_lines(acc)) == 4 * (len(seeds) + 1)
    assert hline_values(acc) == [m["plateau_B_over_N"], m["one_over_L"]]
    assert [ln.get_label() for ln in acc.lines if is_hline(acc, ln)] == [
        "theory: B/N plateau",
        "1/L (chance)",
    ]
    assert_band(loss, steps, [a[f"seed{s}/loss"] for s in seeds], "training loss")
    assert len(data_lines(loss)) == len(seeds) + 1
    (prog,) = d.axes("progress_measures")
    for k in ("ILA1", "TILA2", "TLA2", "CLA"):
        assert_band(prog, steps, [a[f"seed{s}/{k}"] for s in seeds], k)
    assert_band(prog, steps, [a[f"seed{s}/acc_ic"] for s in seeds], "IC accuracy")
    assert len(data_lines(prog)) == 5 * (len(seeds) + 1)


@pytest.mark.parametrize("name", ["induction-head-curves", "induction-head-minimal"])
def test_attention_maps_are_the_saved_maps(drawn, name):
    d = drawn(name)
    m, a = d.run.metrics, d.run.arrays
    s0, r0 = m["seeds"][0]["seed"], m["seeds"][0]
    st = a[f"seed{s0}/step"]
    before = (
        int(np.argmin(np.abs(st - r0["plateau_step"])))
        if r0.get("plateau_step") is not None
        else len(st) // 2
    )
    axes = d.axes("attention_maps")
    assert len(axes) == 4
    for j, idx in enumerate((before, -1)):
        (img1,) = axes[j].images
        (img2,) = axes[2 + j].images
        assert np.array_equal(img1.get_array(), a[f"seed{s0}/attn1"][idx])
        assert np.array_equal(img2.get_array(), a[f"seed{s0}/attn2"][idx])
        assert f"step {int(st[idx])}" in axes[j].get_title() and f"seed {s0}" in axes[j].get_title()
        rows, items = np.nonzero(a[f"seed{s0}/context_match"])
        one_line(axes[2 + j], 2 * items + 1, rows)


def test_attention_map_says_plateau_only_for_a_plateau(drawn):
    d = drawn("induction-head-curves")
    r0 = d.run.metrics["seeds"][0]
    assert r0["transition_step"] is None  # 40 steps: no transition
    axes = d.axes("attention_maps")
    assert "plateau" not in axes[0].get_title()
    assert "middle of training" in axes[0].get_title()
    for ax in axes:  # which axis is the key and which the query
        assert "key token" in ax.get_xlabel()
    assert [ax.get_ylabel() for ax in axes[:2]] == ["query token (attending)"] * 2


def test_side_by_side_draws_theory_and_both_models(drawn):
    d = drawn("induction-head-side-by-side")
    m, a = d.run.metrics, d.run.arrays
    rows, lr = m["rows"], m["lr"]
    same_time, scaled, measures = d.axes("side_by_side")
    assert one_line(same_time, a["theory/t"], a["theory/p_right"]).get_label().startswith("theory")
    one_line(same_time, a["finite/t"], a["finite/p_right"])
    for mod in ("network", "minimal"):
        ln = one_line(same_time, lr * a[f"{mod}/step"], a[f"{mod}/acc_ic"])
        assert ln.get_label() == f"simulation: {mod} IC, lr × step"
    assert len(data_lines(same_time)) == 4
    assert hline_values(same_time) == [m["B"] / m["N"], 1 / m["L"]]
    t_th = rows["theory"]["transition"]
    one_line(scaled, a["theory/t"] / t_th, a["theory/p_right"])
    one_line(scaled, a["finite/t"] / rows["theory"]["finite_transition"], a["finite/p_right"])
    for k in ("CLA", "TILA2", "ILA1"):
        assert one_line(measures, a["theory/t"] / t_th, a[f"theory/{k}"]).get_label() == f"theory {k}"


def test_side_by_side_shows_every_model_in_every_panel(drawn):
    d = drawn("induction-head-side-by-side")
    a, rows = d.run.arrays, d.run.metrics["rows"]
    _, scaled, measures = d.axes("side_by_side")
    for mod in ("network", "minimal"):
        shown = [ln for ax in (scaled, measures) for ln in data_lines(ax) if mod in ln.get_label()]
        noted = [t for ax in (scaled, measures) for t in legend_texts(ax) if mod in t]
        assert shown or noted, f"{mod} absent"
        assert len(a[f"{mod}/step"])
        if rows[mod]["transition"] is None:  # the tiny runs: noted in both rescaled panels, drawn in neither
            assert not shown
            for ax in (scaled, measures):
                assert f"simulation: {mod} (no transition)" in legend_texts(ax)


def test_side_by_side_rescales_by_a_transition_at_step_0_only_with_a_note(drawn, tmp_path):
    """A transition found at step 0 is a transition (not "none"), but no time to divide by."""
    d = drawn("induction-head-side-by-side")
    metrics = json.loads(json.dumps(d.run.metrics))
    metrics["rows"]["network"]["transition"] = 0
    metrics["rows"]["minimal"]["transition"] = 20
    path = tmp_path / "induction-head-side-by-side" / "step0"
    write_run(path, d.run.experiment, d.run.profile, d.run.config, metrics, d.run.arrays)
    _, scaled, measures = plot_saved("induction-head-side-by-side", path).axes("side_by_side")
    a = d.run.arrays
    assert one_line(scaled, a["minimal/step"] / 20, a["minimal/acc_ic"]).get_label() == "simulation: minimal"
    assert not [ln for ax in (scaled, measures) for ln in data_lines(ax) if "network" in ln.get_label()]
    for ax in (scaled, measures):
        assert any("network" in t and "step 0" in t for t in legend_texts(ax))
        assert not any("no transition" in t for t in legend_texts(ax))


def _own_reference(timed, model):
    """The arm a model's steps are divided by: smallest N, then largest L, among the arms with a median."""
    arms = [r for r in timed if r[model]["median_step"] is not None]
    return min(arms, key=lambda r: (r["N"], -r["L"])) if arms else None


def _open_marks(ax, marker: str) -> list:
    return [ln for ln in data_lines(ax) if ln.get_marker() == marker and ln.get_markerfacecolor() == "none"]


def test_transition_draws_every_arm_model_and_seed(drawn):
    d = drawn("induction-head-transition")
    m, a = d.run.metrics, d.run.arrays
    rows, models, seeds = m["arms"], m["models"], m["seeds"]
    assert [(r["N"], r["L"]) for r in rows] == [(2, 2), (2, 4)] and seeds == [0, 1]
    rel, frac, measured = d.axes("transition_times")
    timed = [r for r in rows if r["L"] > r["N"]]
    ref = min(timed, key=lambda r: (r["N"], -r["L"]))
    mults = sorted({r["L"] // r["N"] for r in timed})
    top = rel.get_ylim()[1]
    marks = 0
    for i, mult in enumerate(mults):
        one_line(rel, a["theory_curve/N"], a[f"theory_curve/L{mult}N"] / ref["theory_ideal"])
        sel = [r for r in timed if r["L"] == mult * r["N"]]
        xs = np.array([r["N"] for r in sel], float)
        one_line(rel, xs, [r["theory_finite"] / ref["theory_finite"] for r in sel])
        for model, mk, dx in (("network", "o", -0.06), ("minimal", "^", 0.06)):
            own = _own_reference(timed, model)
            for s_i in range(len(seeds)):  # one filled marker set a seed, at its learned arms
                steps = [r[model]["transition_steps"][s_i] for r in sel]
                ok = np.array([t is not None and own is not None for t in steps])
                if ok.any():
                    ys = [t / own[model]["median_step"] for t, o in zip(steps, ok, strict=True) if o]
                    assert one_line(rel, xs[ok] + dx, ys).get_marker() == mk
                    marks += 1
            # one open marker set a model and L/N on the top edge: every seed that never learned
            never = [
                x + dx
                for r, x in zip(sel, xs, strict=True)
                for t in r[model]["transition_steps"]
                if t is None
            ]
            if never:
                (ln,) = [ln for ln in _open_marks(rel, mk) if ln.get_color() == f"C{i}"]
                assert sorted(xy(ln)[0]) == sorted(never) and set(xy(ln)[1]) == {top}
                marks += 1
    assert marks and len(data_lines(rel)) == 2 * len(mults) + marks
    eq = [r for r in rows if r["L"] == r["N"]]
    bars = [c for c in frac.containers if type(c).__name__ == "BarContainer"]
    assert [[p.get_height() for p in b.patches] for b in bars] == [
        [r[model]["fraction_learning_icl"] for r in eq] for model in models
    ]
    centres = np.mean([[p.get_x() + p.get_width() / 2 for p in b.patches] for b in bars], axis=0)
    assert equal(centres, frac.get_xticks())  # each tick under the middle of its arm's bars
    assert legend_texts(frac) == [f"simulation: {model}" for model in models]
    learned = [t for r in timed for model in models for t in r[model]["transition_steps"] if t is not None]
    assert sum(len(ln.get_xdata()) for ln in data_lines(measured)) == len(learned)


def test_transition_marks_seeds_that_never_learn(drawn):
    """No seed learns in 40 steps here: each is an open marker on the top edge, and the legend counts them."""
    d = drawn("induction-head-transition")
    m = d.run.metrics
    rel = d.axes("transition_times")[0]
    markers = [ln for ln in data_lines(rel) if ln.get_marker() in ("o", "^")]
    assert markers and all(np.isfinite(xy(ln)[1]).all() for ln in markers)
    timed = [r for r in m["arms"] if r["L"] > r["N"]]
    for model, mk in (("network", "o"), ("minimal", "^")):
        steps = [t for r in timed for t in r[model]["transition_steps"]]
        k = sum(t is not None for t in steps)
        assert k == 0
        never = _open_marks(rel, mk)
        assert sum(len(ln.get_xdata()) for ln in never) == len(steps) - k
        assert all(y == rel.get_ylim()[1] for ln in never for y in ln.get_ydata())
        assert not any(ln.get_clip_on() for ln in never)  # on the edge, not clipped in half
        assert f"simulation: {model} (seeds), {k} of {len(steps)} learned" in legend_texts(rel)
    assert "simulation: never learned (top edge)" in legend_texts(rel)


def test_transition_plots_when_the_reference_arm_partly_learns(drawn, tmp_path):
    """The saved tiny run with one seed of the reference arm marked as learning at step 40 (the other not):
    a state finish_transition produces whenever some seeds learn and some do not."""
    d = drawn("induction-head-transition")
    metrics = json.loads(json.dumps(d.run.metrics))
    ref = [r for r in metrics["arms"] if r["L"] > r["N"]][0]
    ref["network"].update(transition_steps=[40, None], fraction_learning_icl=0.5, median_step=None)
    path = tmp_path / "induction-head-transition" / "partly"
    write_run(path, d.run.experiment, d.run.profile, d.run.config, metrics, d.run.arrays)
    rel = plot_saved("induction-head-transition", path).axes("transition_times")[0]
    # no arm where every network seed learned: no reference, so the learned seed is not drawn (and said so)
    (label,) = [t for t in legend_texts(rel) if t.startswith("simulation: network")]
    assert label.startswith("simulation: network (seeds), 1 of 2 learned") and "no reference" in label
    assert sum(len(ln.get_xdata()) for ln in _open_marks(rel, "o")) == 1  # the seed that never learned
    assert not [ln for ln in data_lines(rel) if ln.get_marker() == "o" and ln.get_markerfacecolor() != "none"]
    assert all(np.isfinite(xy(ln)[1]).all() for ln in data_lines(rel) if ln.get_marker() in ("o", "^"))


def test_transition_divides_by_each_models_own_reference(drawn, tmp_path):
    """Every seed of the reference arm learned for the network: its steps are divided by that arm's median."""
    d = drawn("induction-head-transition")
    metrics = json.loads(json.dumps(d.run.metrics))
    ref = [r for r in metrics["arms"] if r["L"] > r["N"]][0]
    ref["network"].update(transition_steps=[20, 40], fraction_learning_icl=1.0, median_step=30.0)
    path = tmp_path / "induction-head-transition" / "learned"
    write_run(path, d.run.experiment, d.run.profile, d.run.config, metrics, d.run.arrays)
    rel = plot_saved("induction-head-transition", path).axes("transition_times")[0]
    x = np.array([ref["N"] - 0.06])
    for step in (20, 40):
        ln = one_line(rel, x, [step / 30.0])
        assert ln.get_marker() == "o" and ln.get_markerfacecolor() != "none"
    assert "simulation: network (seeds), 2 of 2 learned" in legend_texts(rel)
    assert _open_marks(rel, "o") == []


def test_data_dependence_phase_diagrams_are_the_final_accuracies(drawn):
    d = drawn("induction-head-data-dependence")
    met, arr = d.run.metrics, d.run.arrays
    models, seeds = met["models"], met["seeds"]
    by = {r["key"]: r for r in met["points"]}
    kxb = [by[k] for k in met["sweeps"]["KxB"]]
    Ks, Bs = sorted({r["K"] for r in kxb}), sorted({r["B"] for r in kxb})
    assert (Ks, Bs, seeds) == ([8, 16], [0, 1], [0, 1])
    kb = {(r["K"], r["B"]): r for r in kxb}
    axes = d.axes("phase_K_B")
    assert len(axes) == 4 * len(models)  # IC, IW, IC2, ILA1 rows
    for j, model in enumerate(models):
        for i, acc in enumerate(("acc_ic", "acc_iw", "acc_ic2", "ILA1")):
            ax = axes[i * len(models) + j]
            (img,) = ax.images
            grid = np.array([[kb[(K, B)][model][f"final_{acc}"] for K in Ks] for B in Bs])
            sd = np.array([[kb[(K, B)][model][f"final_{acc}_sd"] for K in Ks] for B in Bs])
            assert np.array_equal(img.get_array(), grid)
            # the saved final value is the mean over seeds of each saved curve's last value, sd their spread
            finals = np.array(
                [
                    [[arr[f"{model}/{kb[(K, B)]['key']}/seed{s}/{acc}"][-1] for s in seeds] for K in Ks]
                    for B in Bs
                ]
            )
            assert equal(img.get_array(), finals.mean(axis=2))
            assert equal(sd, finals.std(axis=2, ddof=1))
            assert img.origin == "lower"
            assert [t.get_text() for t in ax.get_xticklabels()] == [str(K) for K in Ks]
            assert [t.get_text() for t in ax.get_yticklabels()] == [str(B) for B in Bs]
            texts = [t.get_text() for t in ax.texts]
            assert texts[: grid.size] == [
                f"{v:.2f}±{e:.2f}" for v, e in zip(grid.ravel(), sd.ravel(), strict=True)
            ]
            acc = acc.replace("acc_", "")
            # under each IC accuracy, the finite-data theory's flow time to the transition (none at B = 0)
            times = [kb[(K, B)]["theory_time"] for B in Bs for K in Ks] if acc == "ic" else []
            assert texts[grid.size :] == [
                "theory: no transition" if t is None else f"theory: t = {t:.3g}" for t in times
            ]
    assert [kb[(K, 0)]["theory_time"] for K in Ks] == [None, None]


def test_data_dependence_sweeps_and_theory(drawn):
    d = drawn("induction-head-data-dependence")
    met, arr = d.run.metrics, d.run.arrays
    by = {r["key"]: r for r in met["points"]}
    eps_ax, alpha_ax, mix_ax, theory_ax, alpha_theory_ax = d.axes("epsilon_alpha_mixture")
    for ax, tw, axis in ((eps_ax, theory_ax, "epsilon"), (alpha_ax, alpha_theory_ax, "alpha")):
        pts = [by[k] for k in met["sweeps"][axis]]
        for model in met["models"]:
            for acc in ("ic", "iw"):
                x = [r[axis] for r in pts]
                y = [r[model][f"final_acc_{acc}"] for r in pts]
                found = lines_with(ax, x, y)  # the errorbar's line (and its caps too where sd = 0)
                (bars,) = [c for c in ax.containers if any(c.lines[0] is ln for ln in found)]  # mean ± sd
                n = len(met["seeds"])
                assert bars.get_label() == f"simulation: {model} {acc.upper()} (mean ± sd, {n} seeds)"
                sd = [r[model][f"final_acc_{acc}_sd"] for r in pts]
                half = [(seg[1][1] - seg[0][1]) / 2 for seg in bars.lines[2][0].get_segments()]
                assert equal(half, sd)
        assert len(ax.containers) == 2 * len(met["models"])  # IC and IW per model, nothing else
        assert len(data_lines(ax)) == 3 * 2 * len(met["models"])  # each: its line and two caps
        # the finite-data theory's time at every point of the sweep, on the twin axis
        times = [np.nan if r["theory_time"] is None else r["theory_time"] for r in pts]
        assert one_line(tw, [r[axis] for r in pts], times).get_label().startswith("theory")
        assert len(data_lines(tw)) == 1 and tw.get_ylabel()
        assert np.isfinite(times).all()
    for r in (by[k] for k in met["sweeps"]["mixture"]):
        mix = f"p_B={r['p_B']:g} p_C={r['p_C']:g}"
        for model in met["models"]:
            for s in met["seeds"]:
                pre = f"{model}/{r['key']}/seed{s}"
                assert lines_with(mix_ax, arr[f"{pre}/step"], arr[f"{pre}/acc_ic"])
                assert lines_with(mix_ax, arr[f"{pre}/step"], arr[f"{pre}/acc_iw"])
        t = r["theory_time"]
        said = "no transition" if t is None else f"t = {t:.3g}"
        assert f"theory, {mix}: flow time to transition {said}" in legend_texts(mix_ax)


def test_data_dependence_mixture_draws_every_seed(drawn):
    d = drawn("induction-head-data-dependence")
    met, arr = d.run.metrics, d.run.arrays
    by = {r["key"]: r for r in met["points"]}
    mix_ax = d.axes("epsilon_alpha_mixture")[2]
    colours = []
    for key in met["sweeps"]["mixture"]:
        r = by[key]
        mix = f"p_B={r['p_B']:g} p_C={r['p_C']:g}"
        for model in met["models"]:
            pre = [f"{model}/{key}/seed{s}" for s in met["seeds"]]
            steps = [arr[f"{p}/step"] for p in pre]
            for s, p in zip(met["seeds"], pre, strict=True):
                assert lines_with(mix_ax, arr[f"{p}/step"], arr[f"{p}/acc_ic"]), f"seed {s}"
            # both accuracies as bands over seeds, IW labelled with its mixture too
            assert_band(mix_ax, steps, [arr[f"{p}/acc_ic"] for p in pre], f"simulation: {model} {mix} IC")
            assert_band(mix_ax, steps, [arr[f"{p}/acc_iw"] for p in pre], f"simulation: {model} {mix} IW")
            colours.append(
                one_line(mix_ax, steps[0], np.mean([arr[f"{p}/acc_ic"] for p in pre], 0)).get_color()
            )
    assert len(set(colours)) == len(colours)  # no colour used twice
