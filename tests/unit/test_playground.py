"""The TensorFlow Playground datasets: geometry, labels, noise and features."""

import numpy as np
import pytest

from tuidl.core.data import playground as pg
from tuidl.core.data.catalog import PLAYGROUND_FEATURES


def test_the_generator_computes_the_features_the_preset_offers():
    assert pg.FEATURES == PLAYGROUND_FEATURES


@pytest.mark.parametrize("name", list(pg.GENERATORS))
@pytest.mark.parametrize("n", [10, 11, 501])
def test_every_dataset_gives_exactly_n_points(name, n):
    points, labels = pg.generate(name, n, 0.2, seed=3)
    assert points.shape == (n, 2) and labels.shape == (n,)
    assert np.isfinite(points).all() and np.isfinite(labels).all()
    if name in pg.CLASSIFICATION:
        assert set(np.unique(labels)) <= {-1.0, 1.0}


@pytest.mark.parametrize("name", list(pg.GENERATORS))
def test_seeded_reproducible_and_seed_dependent(name):
    a = pg.generate(name, 200, 0.1, seed=7)
    b = pg.generate(name, 200, 0.1, seed=7)
    c = pg.generate(name, 200, 0.1, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # A Generator can be passed directly, too.
    d = pg.generate(name, 200, 0.1, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], d[0])


def test_circle_without_noise_labels_by_radius():
    points, labels = pg.generate("circle", 2000, 0.0, seed=0)
    r = np.hypot(points[:, 0], points[:, 1])
    np.testing.assert_array_equal(labels == 1, r < 2.5)
    # Inside: r < 2.5; outside: r in [3.5, 5] (radius * 0.7 .. radius); half each.
    assert (labels == 1).sum() == 1000
    outside = r[labels == -1]
    assert outside.min() >= 3.5 and outside.max() <= 5.0
    assert r[labels == 1].max() < 2.5
    # Points cover all angles.
    angles = np.arctan2(points[:, 1], points[:, 0])
    assert np.histogram(angles, bins=8)[0].min() > 150


def test_circle_noise_moves_labels_not_points():
    points, labels = pg.generate("circle", 4000, 0.5, seed=1)
    r = np.hypot(points[:, 0], points[:, 1])
    # The points are drawn from the same rings; only the label uses the noisy point.
    assert r.max() <= 5.0
    assert ((r >= 2.5) & (r < 3.5)).sum() == 0
    disagree = (labels == 1) != (r < 2.5)
    assert 0.05 < disagree.mean() < 0.6


def test_xor_labels_are_the_sign_of_the_product():
    points, labels = pg.generate("xor", 3000, 0.0, seed=0)
    x, y = points[:, 0], points[:, 1]
    np.testing.assert_array_equal(labels, np.where(x * y >= 0, 1.0, -1.0))
    # Padding 0.3 pushes points away from the axes; range is ±(5 + 0.3).
    assert np.abs(x).min() >= 0.3 and np.abs(y).min() >= 0.3
    assert np.abs(points).max() <= 5.3
    noisy_points, noisy_labels = pg.generate("xor", 3000, 0.5, seed=0)
    prod = noisy_points[:, 0] * noisy_points[:, 1]
    flipped = noisy_labels != np.where(prod >= 0, 1.0, -1.0)
    assert 0.02 < flipped.mean() < 0.5


@pytest.mark.parametrize("noise,variance", [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)])
def test_gauss_centres_and_variance(noise, variance):
    points, labels = pg.generate("gauss", 20000, noise, seed=2)
    pos, neg = points[labels == 1], points[labels == -1]
    assert len(pos) == len(neg) == 10000
    np.testing.assert_allclose(pos.mean(0), [2, 2], atol=0.1)
    np.testing.assert_allclose(neg.mean(0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(pos.var(0), [variance, variance], rtol=0.06)
    np.testing.assert_allclose(neg.var(0), [variance, variance], rtol=0.06)


def test_spiral_formula_and_growing_radius():
    n = 400
    points, labels = pg.generate("spiral", n, 0.0, seed=0)
    half = n // 2
    i = np.arange(half)
    r = i / half * 5
    t = 1.75 * i / half * 2 * np.pi
    pos = points[labels == 1]
    np.testing.assert_allclose(pos, np.stack([r * np.sin(t), r * np.cos(t)], 1), atol=1e-12)
    # The negative spiral is the positive one turned by pi.
    np.testing.assert_allclose(points[labels == -1], -pos, atol=1e-12)
    radius = np.hypot(pos[:, 0], pos[:, 1])
    assert np.all(np.diff(radius) > 0)
    assert radius[0] == 0 and 4.9 < radius[-1] < 5.0


def test_spiral_noise_is_uniform_within_noise():
    clean, _ = pg.generate("spiral", 600, 0.0, seed=0)
    noisy, _ = pg.generate("spiral", 600, 0.4, seed=0)
    delta = noisy - clean
    assert np.abs(delta).max() <= 0.4
    assert np.abs(delta).max() > 0.35


def test_plane_labels():
    points, labels = pg.generate("plane", 2000, 0.0, seed=0)
    assert np.abs(points).max() <= 6.0
    np.testing.assert_allclose(labels, (points[:, 0] + points[:, 1]) / 10, atol=1e-12)
    noisy_points, noisy_labels = pg.generate("plane", 2000, 0.3, seed=0)
    err = noisy_labels - (noisy_points[:, 0] + noisy_points[:, 1]) / 10
    # The noise enters the label only: uniform(-6, 6) * 0.3 on each coordinate, / 10.
    assert np.abs(err).max() <= 2 * 6 * 0.3 / 10 + 1e-12
    assert np.abs(err).std() > 0.05


def test_multi_gauss_label_function():
    cx = pg.GAUSSIANS[:, 0]
    cy = pg.GAUSSIANS[:, 1]
    np.testing.assert_allclose(pg.multi_gauss_label(cx, cy), pg.GAUSSIANS[:, 2])
    # Closeness falls linearly to 0 at distance 2 and stays 0 beyond.
    np.testing.assert_allclose(pg.multi_gauss_label(np.array([-4.0, 1.0, 0.0]), np.array([1.5, 2.5, 0.0])),
                               [0.5, -0.5, 0.0])
    # The value largest in absolute size wins.
    v = pg.multi_gauss_label(np.array([-2.2]), np.array([2.5]))  # 2.2 from (0,2.5), 1.8 from (-4,2.5)
    np.testing.assert_allclose(v, [1 - 1.8 / 2])


def test_multi_gauss_generated_labels():
    points, labels = pg.generate("multi-gauss", 3000, 0.0, seed=0)
    np.testing.assert_allclose(labels, pg.multi_gauss_label(points[:, 0], points[:, 1]))
    assert labels.min() >= -1 and labels.max() <= 1
    assert (labels > 0.5).any() and (labels < -0.5).any() and (labels == 0).any()


def test_features_match_formulas_in_listed_order():
    pts = np.array([[0.5, -1.5], [2.0, 3.0], [-4.0, 0.25]])
    x, y = pts[:, 0], pts[:, 1]
    full = pg.features_of(pts, PLAYGROUND_FEATURES)
    assert full.dtype == np.float32 and full.shape == (3, 7)
    expected = np.stack([x, y, x * x, y * y, x * y, np.sin(x), np.sin(y)], 1)
    np.testing.assert_allclose(full, expected, rtol=1e-6)
    picked = pg.features_of(pts, ["sin_x2", "x1", "x1x2"])
    np.testing.assert_allclose(picked, np.stack([np.sin(y), x, x * y], 1), rtol=1e-6)
    with pytest.raises(ValueError):
        pg.features_of(pts, ["x3"])
    with pytest.raises(ValueError):
        pg.features_of(np.zeros((3, 3)), ["x1"])


def test_make_maps_labels_to_classes_and_targets():
    d = pg.make("xor", 300, 0.0, ["x1", "x2", "x1x2"], seed=4)
    assert d.task == "classification"
    assert d.y.dtype == np.int64 and set(np.unique(d.y)) == {0, 1}
    np.testing.assert_array_equal(d.y, (d.labels == 1).astype(np.int64))
    np.testing.assert_allclose(d.x[:, 2], d.points[:, 0] * d.points[:, 1], rtol=1e-5)
    r = pg.make("plane", 100, 0.0, ["x1"], seed=4)
    assert r.task == "regression" and r.y.shape == (100, 1) and r.y.dtype == np.float32
    np.testing.assert_allclose(r.y[:, 0], r.labels, rtol=1e-6)
    assert pg.EXTENT == [-6.0, 6.0, -6.0, 6.0]
