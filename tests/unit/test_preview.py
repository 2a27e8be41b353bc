"""Sample previews: pure functions from numpy arrays to Rich renderables."""

from __future__ import annotations

import io

import numpy as np
from rich.color import Color
from rich.console import Console

from tuidl.ui.widgets import preview


def plain(renderable, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def style_at(text, index: int):
    return text.get_style_at_offset(Console(), index)


def test_image_text_of_a_2x2_image_is_one_row_of_two_half_blocks():
    img = np.array([[0.0, 1.0], [1.0, 0.0]])  # black, white / white, black
    text = preview.image_text(img)
    assert text.plain == "▀▀"
    white, black = Color.from_rgb(255, 255, 255), Color.from_rgb(0, 0, 0)
    first, second = style_at(text, 0), style_at(text, 1)
    assert (first.color, first.bgcolor) == (black, white)  # upper pixel black, lower white
    assert (second.color, second.bgcolor) == (white, black)


def test_image_text_scales_per_image_and_handles_rgb_and_odd_heights():
    # min-max scaling: 10..20 maps to 0..255, like 0..1 would
    assert preview.image_text(np.array([[10, 20], [20, 10]])).spans == preview.image_text(
        np.array([[0.0, 1.0], [1.0, 0.0]])).spans
    rgb = np.zeros((3, 3, 2))  # channel-first, 3 rows: the last row has no lower pixel
    rgb[0, 0, 0] = 1.0  # red at the top left
    text = preview.image_text(rgb)
    assert text.plain == "▀▀\n▀▀"
    top_left = style_at(text, 0)
    assert top_left.color == Color.from_rgb(255, 0, 0)
    last_row = style_at(text, len("▀▀\n"))
    assert last_row.bgcolor is None
    # a constant image does not divide by zero
    assert preview.image_text(np.ones((4, 4))).plain == "▀▀▀▀\n▀▀▀▀"


def test_sequence_text_has_the_requested_size():
    values = np.sin(np.linspace(0, 6, 40))
    for width, height in [(20, 4), (7, 1), (40, 6)]:
        text = preview.sequence_text(values, width, height)
        lines = text.plain.split("\n")
        assert len(lines) == height
        assert all(len(line) == width for line in lines)
        assert any(ch != " " for ch in text.plain)
    # a (1, L) array and a constant sequence work too
    assert len(preview.sequence_text(np.zeros((1, 40)), 10, 3).plain.split("\n")) == 3


def test_scatter_has_the_size_and_a_legend_per_class():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(200, 2))
    labels = (points[:, 0] * points[:, 1] > 0).astype(int)
    out = plain(preview.scatter_text(points, labels, 50, 14, classes=["negative", "positive"]))
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == 15  # the plot and the legend
    assert max(len(line) for line in lines[:14]) == 50
    assert f"negative ({(labels == 0).sum()})" in lines[-1] and f"positive ({(labels == 1).sum()})" in lines[-1]
    regression = plain(preview.scatter_text(points, points[:, 0], 50, 10, task="regression"))
    assert "< 0" in regression and "> 0" in regression and "≈ 0" in regression


def test_grids_and_balance_table():
    images = [np.random.default_rng(i).random((1, 8, 8)) for i in range(6)]
    out = plain(preview.image_grid(images, [f"d{i}" for i in range(6)], 50))
    assert out.count("▀" * 8) == 4 * 5  # 4 rows, as many images as fit in 50 columns (5)
    assert "d0" in out and "d4" in out and "d5" not in out
    seqs = plain(preview.sequence_grid([np.arange(40)] * 3, ["a", "b", "c"], 80, plot_width=20, plot_height=3))
    assert len(seqs.rstrip("\n").split("\n")) == 4
    table = plain(preview.balance_table({"train": 350, "val": 75, "test": 75},
                                        {"train": [175, 175], "val": [37, 38], "test": [38, 37]},
                                        ["negative", "positive"], 80))
    assert "350" in table and "175 / 175" in table and "70%" in table and "negative" in table
    many = plain(preview.balance_table({"train": 100, "val": 0, "test": 0},
                                       {"train": list(range(100)), "val": [], "test": []},
                                       [str(i) for i in range(100)], 80))
    assert "0–99" in many
