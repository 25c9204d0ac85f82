"""Figures are saved whole or not at all (simulations.plotting.save)."""

import pytest

from simulations.plotting import plt, save


def _figure(y):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, y])
    return fig


def test_save_writes_a_png_and_an_svg_and_nothing_else(tmp_path):
    fig = _figure(1)
    paths = save(fig, tmp_path / "figures", "line")
    assert [p.name for p in paths] == ["line.png", "line.svg"]
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["line.png", "line.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:2000]
    assert fig.number not in plt.get_fignums()  # closed


def test_a_failed_redraw_leaves_the_old_figure_whole_and_no_temporary(tmp_path, monkeypatch):
    """The first save writes both files; a second save of another figure fails while writing its SVG
    (after part of the file is out): the PNG is the new one, the SVG still the old one byte for byte."""
    old_png, old_svg = (p.read_bytes() for p in save(_figure(1), tmp_path, "line"))
    fig = _figure(3)
    real = fig.savefig

    def savefig(path, **kw):
        if kw.get("format") == "svg":
            with open(path, "w") as f:
                f.write("<svg half")
            raise OSError("disk full")
        real(path, **kw)

    monkeypatch.setattr(fig, "savefig", savefig)
    with pytest.raises(OSError, match="disk full"):
        save(fig, tmp_path, "line")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.png", "line.svg"]
    assert (tmp_path / "line.png").read_bytes() != old_png
    assert (tmp_path / "line.svg").read_bytes() == old_svg
    assert fig.number not in plt.get_fignums()
