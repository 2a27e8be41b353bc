"""Loading, splitting, normalising and batching datasets (tuidl.core.data.data, tuidl.core.data.tables).

Torchvision datasets are read by the real torchvision classes from small files these
tests write in each dataset's own format; nothing is downloaded."""

import gzip
import json
import pickle
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest
import tomli_w
import torch

from tuidl.core.data import catalog, data as D, playground as pg
from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from tuidl.core.data.tables import read_csv, read_npz


def make_preset(tmp_path, dataset, params=None, split=None, normalize="standard", seed=0, **data):
    d = {"dataset": dataset, "params": params or {}, "normalize": normalize, **data}
    if split is not None:
        d["split"] = split
    (tmp_path / "preset.toml").write_text(tomli_w.dumps({"seed": seed, "data": d}))
    return P.load(tmp_path / "preset.toml")  # a relative path is taken from the preset's folder


def problem_paths(err):
    return [p.path for p in err.value.problems]


# ---------------------------------------------------------------------------
# An NPZ whose first feature is the sample id lets tests follow every sample.

N_ID = 300


@pytest.fixture
def id_npz(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.arange(N_ID, dtype=np.float64)
    y = np.repeat(np.arange(3), [150, 100, 50])  # unbalanced classes
    x = np.stack([ids, rng.normal(5.0, 2.0, N_ID), rng.uniform(-3, 9, N_ID)], 1)
    np.savez(tmp_path / "ids.npz", x=x, y=y)
    return tmp_path / "ids.npz", x, y


def ids_of(part):
    return part.x[:, 0].round().long().tolist()


def test_playground_load_shapes_points_and_transform(tmp_path):
    p = make_preset(tmp_path, "spiral", {"n_samples": 400, "noise": 0.1,
                                         "features": ["x1", "x2", "sin_x1"]}, seed=5)
    L = D.load(p)
    assert L.info.task == "classification" and L.info.classes == ["negative", "positive"]
    assert L.train.x.shape == (280, 3) and L.train.x.dtype == torch.float32
    assert L.train.y.dtype == torch.int64 and set(L.train.y.tolist()) == {0, 1}
    assert len(L.val) == 60 and len(L.test) == 60
    assert L.raw_points.shape == (280, 2) and L.raw_extent == [-6.0, 6.0, -6.0, 6.0]
    # The raw points are the train split's, in the same order: re-featurised and
    # normalised they give train.x exactly.
    feats = pg.features_of(L.raw_points, ["x1", "x2", "sin_x1"])
    torch.testing.assert_close(L.transform(feats), L.train.x)
    # The points are the generated dataset's.
    points, labels = pg.generate("spiral", 400, 0.1, seed=5)
    rows = {tuple(r) for r in points.round(9)}
    assert all(tuple(r) in rows for r in L.raw_points.round(9))
    json.dumps(L.describe())


@pytest.mark.parametrize("name", ["plane", "multi-gauss"])
def test_playground_regression(tmp_path, name):
    L = D.load(make_preset(tmp_path, name, {"n_samples": 200}, normalize="none"))
    assert L.info.task == "regression" and L.info.targets == 1
    assert L.train.y.shape == (140, 1) and L.train.y.dtype == torch.float32
    d = L.describe()
    assert d["classes"] == [] and d["balance"]["train"] == []
    if name == "plane":
        x = L.train.x.double()
        torch.testing.assert_close(L.train.y[:, 0].double(), (x[:, 0] + x[:, 1]) / 10)


def test_digits(tmp_path):
    L = D.load(make_preset(tmp_path, "digits"))
    assert L.info.input_shape == (1, 8, 8) and L.info.num_classes == 10
    assert L.train.x.shape[1:] == (1, 8, 8) and L.train.x.dtype == torch.float32
    assert len(L.train) + len(L.val) + len(L.test) == 1797
    assert len(L.val) == len(L.test) == round(1797 * 0.15)
    d = L.describe()
    assert sum(d["balance"]["train"]) == len(L.train) and len(d["balance"]["test"]) == 10
    # Per-channel statistics: one channel, fitted on train.
    assert L.norm["per"] == "channel" and len(L.norm["mean"]) == 1
    assert abs(float(L.train.x.mean())) < 1e-4 and abs(float(L.train.x.std()) - 1) < 1e-3


def test_mnist1d_generated_cached_and_official_test(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_DATA", str(tmp_path / "cache"))  # count only this test's cache files
    state = np.random.get_state()
    p = make_preset(tmp_path, "mnist1d", {"n_samples": 1000}, seed=3)
    L = D.load(p)
    assert L.info.input_shape == (1, 40) and L.train.x.shape[1:] == (1, 40)
    assert len(L.train) + len(L.val) + len(L.test) == 1000
    assert L.describe()["balance"]["train"] == [70] * 10
    # The global numpy generator mnist1d seeds is left as it was.
    np.testing.assert_array_equal(np.random.get_state()[1], state[1])
    cached = list((catalog.cache_dir() / "mnist1d").glob("mnist1d-1000-*.npz"))
    assert len(cached) == 1
    again = D.load(p)
    torch.testing.assert_close(again.train.x, L.train.x)
    other = D.load(make_preset(tmp_path, "mnist1d", {"n_samples": 1000, "shuffle_seq": True}, seed=3))
    assert not torch.equal(other.train.x, L.train.x)

    off = D.load(make_preset(tmp_path, "mnist1d", {"n_samples": 1000},
                             {"train": 0.6, "val": 0.2, "test": 0.2, "official_test": True}, seed=3))
    with np.load(cached[0]) as z:
        x_test, y_test = z["x_test"], z["y_test"]
    assert len(off.test) == len(x_test) == 200
    torch.testing.assert_close(off.test.y, torch.from_numpy(y_test))
    torch.testing.assert_close(off.test.x, off.transform(x_test[:, None, :]))
    # train : val = 0.6 : 0.2 of the 800 official training sequences.
    assert len(off.train) == 600 and len(off.val) == 200


# ---------------------------------------------------------------------------
# Splits


def test_splits_disjoint_sized_and_reproducible(tmp_path, id_npz):
    path, x, y = id_npz
    split = {"train": 0.6, "val": 0.25, "test": 0.15}
    L = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, split, normalize="none", seed=1))
    tr, va, te = ids_of(L.train), ids_of(L.val), ids_of(L.test)
    assert (len(tr), len(va), len(te)) == (180, 75, 45)
    assert sorted(tr + va + te) == list(range(N_ID))
    # Targets travel with their inputs.
    assert L.train.y.tolist() == [int(y[i]) for i in tr]
    same = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, split, normalize="none", seed=1))
    assert ids_of(same.train) == tr and ids_of(same.test) == te
    other = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, split, normalize="none", seed=2))
    assert set(ids_of(other.test)) != set(te)


def test_zero_fraction_gives_no_split(tmp_path, id_npz):
    L = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"},
                           {"train": 0.8, "val": 0.2, "test": 0.0}, normalize="none"))
    assert L.test is None and len(L.val) == 60 and len(L.train) == 240
    assert L.describe()["sizes"] == {"train": 240, "val": 60, "test": 0}
    only = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"},
                              {"train": 1.0, "val": 0.0, "test": 0.0}, normalize="none"))
    assert only.val is None and only.test is None and sorted(ids_of(only.train)) == list(range(N_ID))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_stratified_balance(tmp_path, id_npz, seed):
    path, x, y = id_npz
    total = np.bincount(y)
    L = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"},
                           {"train": 0.7, "val": 0.17, "test": 0.13}, normalize="none", seed=seed))
    counts = {k: np.bincount(p.y.numpy(), minlength=3) for k, p in L.parts().items()}
    # The test split is cut first from the whole set, the validation split from the rest:
    # each is within one sample per class of its exact share.
    assert np.abs(counts["test"] - total * len(L.test) / N_ID).max() <= 1
    rest = total - counts["test"]
    assert np.abs(counts["val"] - rest * len(L.val) / rest.sum()).max() <= 1
    assert np.abs(counts["train"] - rest * len(L.train) / rest.sum()).max() <= 1
    assert np.abs(counts["val"] - total * len(L.val) / N_ID).max() <= 1
    assert L.describe()["balance"]["test"] == counts["test"].tolist()
    # Unstratified splits drift further from the class shares somewhere.
    off = [D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"},
                              {"train": 0.7, "val": 0.17, "test": 0.13, "stratify": False},
                              normalize="none", seed=s)) for s in range(4)]
    worst = max(np.abs(np.bincount(o.test.y.numpy(), minlength=3) - total * 39 / N_ID).max() for o in off)
    assert worst > 1


def test_stratify_impossible_falls_back_with_a_note(tmp_path):
    x = np.arange(20, dtype=np.float64)[:, None]
    y = np.array([0] * 10 + [1] * 9 + [2])  # class 2 has one member
    np.savez(tmp_path / "t.npz", x=x, y=y)
    L = D.load(make_preset(tmp_path, "npz", {"path": "t.npz"}, normalize="none"))
    assert len(L.train) + len(L.val) + len(L.test) == 20
    assert L.notes and "too few samples to stratify class(es) 2 (1)" in L.notes[0]
    assert 2 in L.train.y.tolist()  # the lone sample is kept for training


def test_regression_is_not_stratified_and_too_small_split_is_an_error(tmp_path):
    np.savez(tmp_path / "r.npz", x=np.zeros((2, 2)), y=np.zeros(2))
    with pytest.raises(ConfigError) as err:
        D.load(make_preset(tmp_path, "npz", {"path": "r.npz"}, {"train": 0.4, "val": 0.3, "test": 0.3}))
    assert "data.split" in problem_paths(err) and "too few" in str(err.value)


# ---------------------------------------------------------------------------
# Normalisation


def test_standard_normalisation_is_fitted_on_train_only(tmp_path, id_npz):
    path, x, y = id_npz
    L = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, normalize="standard", seed=4))
    assert L.norm["kind"] == "standard" and L.norm["per"] == "feature"
    raw = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, normalize="none", seed=4))
    tr_ids = ids_of(raw.train)
    np.testing.assert_allclose(L.norm["mean"], x[tr_ids].mean(0), rtol=1e-6)
    np.testing.assert_allclose(L.norm["std"], x[tr_ids].std(0), rtol=1e-6)
    assert not np.allclose(L.norm["mean"], x.mean(0), rtol=1e-6)
    torch.testing.assert_close(L.train.x.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(L.train.x.std(0, unbiased=False), torch.ones(3), atol=1e-5, rtol=0)
    te_ids = ids_of(raw.test)
    expected = (x[te_ids] - np.array(L.norm["mean"])) / np.array(L.norm["std"])
    np.testing.assert_allclose(L.test.x.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert L.describe()["normalize"] == "standard"


def test_minmax_normalisation(tmp_path, id_npz):
    path, x, y = id_npz
    L = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, normalize="minmax", seed=4))
    assert L.train.x.min(0).values.tolist() == [0.0, 0.0, 0.0]
    torch.testing.assert_close(L.train.x.max(0).values, torch.ones(3))
    raw = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, normalize="none", seed=4))
    np.testing.assert_allclose(L.norm["min"], x[ids_of(raw.train)].min(0))
    # Validation / test data can fall outside [0, 1]: it did not shape the scaling.
    both = torch.cat([L.val.x, L.test.x])
    assert float(both.min()) < 0 or float(both.max()) > 1 or len(both) == 0


def test_constant_feature_does_not_divide_by_zero(tmp_path):
    x = np.stack([np.ones(40), np.arange(40.0)], 1)
    np.savez(tmp_path / "c.npz", x=x, y=np.arange(40) % 2)
    L = D.load(make_preset(tmp_path, "npz", {"path": "c.npz"}))
    assert torch.isfinite(L.train.x).all() and float(L.train.x[:, 0].abs().max()) == 0.0


# ---------------------------------------------------------------------------
# Batching


def test_batches_cover_every_sample_once_and_are_reproducible(tmp_path, id_npz):
    L = D.load(make_preset(tmp_path, "npz", {"path": "ids.npz"}, normalize="none"))
    part = L.train
    n = len(part)
    assert part.num_batches(32) == -(-n // 32) and part.num_batches(32, drop_last=True) == n // 32
    g = torch.Generator().manual_seed(11)
    epoch1 = [ids for xb, yb in part.batches(32, shuffle=True, generator=g) for ids in xb[:, 0].round().long().tolist()]
    state = g.get_state()
    epoch2 = [i for xb, _ in part.batches(32, shuffle=True, generator=g) for i in xb[:, 0].round().long().tolist()]
    assert sorted(epoch1) == sorted(ids_of(part)) == sorted(epoch2)
    assert len(epoch1) == n and epoch1 != epoch2
    # Same seed, same order; a restored generator state replays the next epoch.
    g2 = torch.Generator().manual_seed(11)
    assert [i for xb, _ in part.batches(32, True, g2) for i in xb[:, 0].round().long().tolist()] == epoch1
    g3 = torch.Generator()
    g3.set_state(state)
    assert [i for xb, _ in part.batches(32, True, g3) for i in xb[:, 0].round().long().tolist()] == epoch2
    # Batches keep x and y together.
    xb, yb = next(part.batches(16, True, torch.Generator().manual_seed(0)))
    pos = {i: k for k, i in enumerate(ids_of(part))}
    assert yb.tolist() == [int(part.y[pos[i]]) for i in xb[:, 0].round().long().tolist()]
    # Unshuffled: in order; sizes; drop_last.
    sizes = [len(xb) for xb, _ in part.batches(50, shuffle=False)]
    assert sum(sizes) == n and sizes[:-1] == [50] * (len(sizes) - 1)
    kept = [len(xb) for xb, _ in part.batches(50, shuffle=True, generator=g, drop_last=True)]
    assert kept == [50] * (n // 50)
    assert torch.equal(torch.cat([xb for xb, _ in part.batches(64, shuffle=False)]), part.x)
    xs, ys = part.take([0, 2])
    assert torch.equal(xs, part.x[[0, 2]]) and torch.equal(ys, part.y[[0, 2]])


# ---------------------------------------------------------------------------
# torchvision datasets, read from files written here


def write_idx(path, arr, gz=False):
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">i", d) for d in arr.shape)
    payload = header + arr.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload)
    path.write_bytes(payload)


def write_mnist(folder, n_train, n_test, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, gz)
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("name,cls,gz", [("mnist", "MNIST", False), ("fashion-mnist", "FashionMNIST", True),
                                         ("kmnist", "KMNIST", True)])
def test_mnist_family_from_idx_files(tmp_path, name, cls, gz):
    files = write_mnist(tmp_path / "tv" / cls / "raw", 60, 20, gz=gz)
    params = {"root": "tv", "download": False}
    L = D.load(make_preset(tmp_path, name, params, {"train": 0.8, "val": 0.2, "test": 0.0,
                                                    "official_test": True}, normalize="none"))
    assert L.info.input_shape == (1, 28, 28) and L.info.num_classes == 10
    assert (len(L.train), len(L.val), len(L.test)) == (48, 12, 20)
    images, labels = files["t10k"]
    # The official test set is the test split, in order; pixels are uint8 / 255.
    torch.testing.assert_close(L.test.x, torch.from_numpy(images[:, None].astype(np.float32) / 255))
    assert L.test.y.tolist() == labels.tolist() and L.test.y.dtype == torch.int64
    if name == "fashion-mnist":
        assert L.info.classes[0] == "T-shirt"
    # limit takes the first N training images; without official_test the test images
    # stay unused and the split comes from the training images.
    lim = D.load(make_preset(tmp_path, name, {**params, "limit": 40}, normalize="none"))
    assert len(lim.train) + len(lim.val) + len(lim.test) == 40
    train_images = files["train"][0][:40].reshape(40, -1)
    got = (lim.train.x.reshape(len(lim.train), -1).numpy() * 255).round().astype(np.uint8)
    assert all((train_images == row).all(1).any() for row in got)


def write_cifar(folder, names, per_file, n_classes, fine, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    key = "fine_labels" if fine else "labels"
    for i, name in enumerate(names):
        imgs = rng.integers(0, 256, (per_file, 3, 32, 32), dtype=np.uint8)
        labels = [(i * per_file + k) % n_classes for k in range(per_file)]
        with open(folder / name, "wb") as f:
            pickle.dump({"data": imgs.reshape(per_file, -1), key: labels}, f)
        written[name] = (imgs, labels)
    return written


def test_cifar10_from_pickled_batches(tmp_path):
    folder = tmp_path / "c10" / "cifar-10-batches-py"
    train = write_cifar(folder, [f"data_batch_{i}" for i in range(1, 6)], 8, 10, fine=False)
    test = write_cifar(folder, ["test_batch"], 10, 10, fine=False, seed=1)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": catalog.CIFAR10}, f)
    p = make_preset(tmp_path, "cifar10", {"root": "c10", "download": False},
                    {"train": 0.75, "val": 0.25, "test": 0.0, "official_test": True}, normalize="none")
    L = D.load(p)
    assert L.info.input_shape == (3, 32, 32) and L.info.classes == catalog.CIFAR10
    assert (len(L.train), len(L.val), len(L.test)) == (30, 10, 10)
    imgs, labels = test["test_batch"]
    # Channels first, exactly as stored (R plane, G plane, B plane).
    torch.testing.assert_close(L.test.x, torch.from_numpy(imgs.astype(np.float32) / 255))
    assert L.test.y.tolist() == labels
    std = D.load(make_preset(tmp_path, "cifar10", {"root": "c10", "download": False},
                             {"train": 0.75, "val": 0.25, "test": 0.0, "official_test": True}))
    assert std.norm["per"] == "channel" and len(std.norm["mean"]) == 3
    ch_means = std.train.x.mean(dim=(0, 2, 3))
    torch.testing.assert_close(ch_means, torch.zeros(3), atol=1e-4, rtol=0)


def test_cifar100_from_pickled_files(tmp_path):
    folder = tmp_path / "c100" / "cifar-100-python"
    write_cifar(folder, ["train"], 200, 100, fine=True)
    write_cifar(folder, ["test"], 100, 100, fine=True, seed=1)
    names = [f"class_{i:03d}" for i in range(100)]
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": names, "coarse_label_names": ["c"] * 20}, f)
    L = D.load(make_preset(tmp_path, "cifar100", {"root": "c100", "download": False, "limit": 150},
                           {"train": 0.8, "val": 0.2, "test": 0.0, "official_test": True}))
    assert L.info.num_classes == 100 and L.info.classes == names
    assert len(L.train) + len(L.val) == 150 and len(L.test) == 100
    assert L.train.x.shape[1:] == (3, 32, 32)


def test_missing_files_without_download_name_folder_and_files(tmp_path):
    with pytest.raises(ConfigError) as err:
        D.load(make_preset(tmp_path, "mnist", {"root": "nowhere", "download": False}))
    msg = str(err.value)
    assert "data.params.root" in problem_paths(err)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in msg
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte"):
        assert f in msg
    with pytest.raises(ConfigError) as err:
        D.load(make_preset(tmp_path, "cifar10", {"root": "nowhere", "download": False}))
    msg = str(err.value)
    assert str(tmp_path / "nowhere" / "cifar-10-batches-py") in msg
    assert "data_batch_5" in msg and "test_batch" in msg and "batches.meta" in msg


@pytest.mark.parametrize("name,folder", [("kmnist", "KMNIST/raw"), ("cifar100", "cifar-100-python")])
def test_failed_download_is_a_config_error(tmp_path, monkeypatch, name, folder):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", offline)  # the network call only
    with pytest.raises(ConfigError) as err:
        D.load(make_preset(tmp_path, name, {"root": "dl", "download": True}))
    msg = str(err.value)
    assert "could not download" in msg and str(tmp_path / "dl" / folder) in msg


def test_damaged_files_are_a_config_error(tmp_path):
    raw = tmp_path / "bad" / "MNIST" / "raw"
    write_mnist(raw, 10, 10)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(ConfigError) as err:
        D.load(make_preset(tmp_path, "mnist", {"root": "bad", "download": False}))
    assert "cannot read the mnist files" in str(err.value)


# ---------------------------------------------------------------------------
# Image folders


def write_images(root, counts, size=(12, 10)):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"img{i}.png")


def test_image_folder(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, {"cat": 12, "dog": 8})
    (root / ".ipynb_checkpoints").mkdir()  # hidden: not a class
    (root / "cat" / "._img0.png").write_bytes(b"AppleDouble junk")  # hidden: not an image
    p = make_preset(tmp_path, "image-folder", {"path": "imgs", "image_size": [8, 6]},
                    {"train": 0.5, "val": 0.25, "test": 0.25})
    L = D.load(p)
    assert L.info.classes == ["cat", "dog"] and L.info.input_shape == (3, 8, 6)
    assert (len(L.train), len(L.val), len(L.test)) == (10, 5, 5)
    assert L.describe()["balance"]["train"] == [6, 4]
    seen, xs = [], []
    g = torch.Generator().manual_seed(0)
    for xb, yb in L.train.batches(4, shuffle=True, generator=g):
        assert xb.shape[1:] == (3, 8, 6) and xb.dtype == torch.float32 and yb.dtype == torch.int64
        xs.append(xb)
        seen += yb.tolist()
    assert sorted(seen) == sorted(L.train.y.tolist()) and L.train.num_batches(4) == 3
    allx = torch.cat(xs)
    torch.testing.assert_close(allx.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    order = [yb.tolist() for _, yb in L.train.batches(4, True, torch.Generator().manual_seed(0))]
    assert sum(order, []) == seen
    xt, yt = L.test.take([0, 1])
    assert xt.shape == (2, 3, 8, 6) and yt.shape == (2,)
    # part.x reads images on demand, matching the batches (test split, in order).
    assert L.test.x.shape == (5, 3, 8, 6)
    first = next(L.test.batches(5, shuffle=False))[0]
    torch.testing.assert_close(L.test.x[1], first[1])
    torch.testing.assert_close(L.test.x[-1], first[4])
    torch.testing.assert_close(L.test.x[1:3], first[1:3])
    gray = D.load(make_preset(tmp_path, "image-folder",
                              {"path": "imgs", "image_size": [4, 4], "grayscale": True},
                              normalize="minmax", workers=1))
    xb, _ = next(gray.train.batches(64, shuffle=False))
    assert xb.shape[1:] == (1, 4, 4) and float(xb.min()) == 0.0 and abs(float(xb.max()) - 1) < 1e-6


def test_image_folder_with_an_empty_class(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, {"a": 3})
    (root / "b").mkdir()
    with pytest.raises(ConfigError) as err:
        D.load(make_preset(tmp_path, "image-folder", {"path": "imgs"}))
    assert "no images in" in str(err.value) and str(root / "b") in str(err.value)


# ---------------------------------------------------------------------------
# CSV and NPZ


def test_csv_text_labels(tmp_path):
    f = tmp_path / "iris.csv"
    f.write_text("a,b,species,c\n1,2,virginica,3\n4,5,setosa,6\n\n7,8.5,versicolor,9\n1e-1,2,setosa,0\n")
    x, y, labels, names = read_csv(f, "species", "auto")
    assert labels == ["setosa", "versicolor", "virginica"] and names == ["a", "b", "c"]
    assert y.dtype == np.int64 and y.tolist() == [2, 0, 1, 0]
    assert x.dtype == np.float32 and x.shape == (4, 3) and x[3, 0] == pytest.approx(0.1)


def test_csv_integer_float_and_headerless(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("x1,x2,y\n0,1,10\n1,0,2\n2,2,10\n3,1,9\n")
    x, y, labels, _ = read_csv(f, "", "auto")
    assert labels == ["2", "9", "10"] and y.tolist() == [2, 0, 2, 1]  # integers sort by value
    x, y, labels, _ = read_csv(f, "y", "regression")
    assert labels is None and y.dtype == np.float32 and y.tolist() == [10, 2, 10, 9]
    g = tmp_path / "r.csv"
    g.write_text("0.5;1;0.25\n1.5;2;0.75\n")
    x, y, labels, names = read_csv(g, "", "auto")
    assert labels is None and names == ["0", "1"] and y.tolist() == [0.25, 0.75]


def test_csv_through_load(tmp_path):
    rows = ["f1,f2,label"] + [f"{i},{(i * 7) % 5},{'yes' if i % 3 else 'no'}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    L = D.load(make_preset(tmp_path, "csv", {"path": "d.csv", "label": "label"}))
    assert L.info.classes == ["no", "yes"] and L.info.input_shape == (2,)
    assert L.train.x.shape == (42, 2) and L.train.y.dtype == torch.int64
    assert L.describe()["balance"]["train"] == [14, 28]


@pytest.mark.parametrize("text,key,needle", [
    ("a,b,y\n1,2,0\n3,4,1\n", "label", "no column 'target'"),
    ("a,b,target\n1,2,0\n3,oops,1\n", "path", "line 3, column 'b': 'oops' is not a number"),
    ("a,b,target\n1,2,0\n3,4\n", "path", "line 3 has 2 fields, expected 3"),
    ("a,b,target\n1,,0\n", "path", "line 2, column 'b': an empty cell"),
    ("a,b,target\n", "path", "no data rows"),
    ("", "path", "is empty"),
])
def test_bad_csv_files(tmp_path, text, key, needle):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        read_csv(f, "target", "auto")
    assert problem_paths(err) == [f"data.params.{key}"]
    assert needle in str(err.value) and str(f) in str(err.value)


def test_csv_regression_with_text_label_is_an_error(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("a,y\n1,2.5\n2,big\n")
    with pytest.raises(ConfigError) as err:
        read_csv(f, "y", "regression")
    assert problem_paths(err) == ["data.params.label"] and "'big'" in str(err.value)


def test_npz_classification_and_regression(tmp_path):
    f = tmp_path / "d.npz"
    np.savez(f, x=np.arange(12.0).reshape(6, 2), y=np.array([3, 1, 3, 1, 7, 7]),
             t=np.arange(12.0).reshape(6, 2), names=np.array(["b", "a", "b", "a", "c", "c"]))
    x, y, labels = read_npz(f, "x", "y", "auto")
    assert labels == ["1", "3", "7"] and y.tolist() == [1, 0, 1, 0, 2, 2] and x.dtype == np.float32
    x, y, labels = read_npz(f, "x", "names", "auto")
    assert labels == ["a", "b", "c"] and y.tolist() == [1, 0, 1, 0, 2, 2]
    x, y, labels = read_npz(f, "x", "t", "auto")
    assert labels is None and y.shape == (6, 2) and y.dtype == np.float32
    L = D.load(make_preset(tmp_path, "npz", {"path": "d.npz", "label": "t"},
                           {"train": 0.5, "val": 0.5, "test": 0.0}))
    assert L.info.task == "regression" and L.info.targets == 2 and L.train.y.shape == (3, 2)


def test_bad_npz_files(tmp_path):
    f = tmp_path / "d.npz"
    np.savez(f, x=np.zeros((4, 2)), y=np.zeros(3, dtype=np.int64), s=np.array(["a", "b", "c", "d"]))
    with pytest.raises(ConfigError) as err:
        read_npz(f, "features", "y", "auto")
    assert problem_paths(err) == ["data.params.features"] and "no array 'features'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        read_npz(f, "x", "label", "auto")
    assert problem_paths(err) == ["data.params.label"] and str(f) in str(err.value)
    with pytest.raises(ConfigError) as err:
        read_npz(f, "x", "y", "auto")
    assert problem_paths(err) == ["data.params.label"] and "4 samples" in str(err.value)
    with pytest.raises(ConfigError) as err:
        read_npz(f, "s", "y", "auto")
    assert problem_paths(err) == ["data.params.features"] and "expected numbers" in str(err.value)
    g = tmp_path / "junk.npz"
    g.write_text("not a zip")
    with pytest.raises(ConfigError) as err:
        read_npz(g, "x", "y", "auto")
    assert problem_paths(err) == ["data.params.path"]
    with pytest.raises(ConfigError) as err:
        D.load(make_preset(tmp_path, "npz", {"path": "missing.npz"}))
    assert problem_paths(err) == ["data.params.path"] and "file not found" in str(err.value)


def test_transform_checks_shape(tmp_path):
    L = D.load(make_preset(tmp_path, "circle", {"n_samples": 50}))
    with pytest.raises(ValueError):
        L.transform(np.zeros((3, 5), np.float32))
    grid = np.stack(np.meshgrid(np.linspace(-6, 6, 5), np.linspace(-6, 6, 5)), -1).reshape(-1, 2)
    out = L.transform(pg.features_of(grid, ["x1", "x2"]))
    assert out.shape == (25, 2) and out.dtype == torch.float32


# ---------------------------------------------------------------------------
# A dataset kind is one class: registered, a preset names it, the trainer's loader loads it.


def test_a_new_dataset_kind_is_one_registered_class(tmp_path):
    from dataclasses import dataclass

    from tuidl.core.data.kinds import REGISTRY, register
    from tuidl.core.data.kinds.base import DataInfo, DatasetKind, Source
    from tuidl.core.preset.schema import opt

    @dataclass
    class RampParams:
        n: int = opt(40, help="samples", min=4, max=1000)

    class Ramp(DatasetKind):
        params = RampParams

        def info(self, params):
            return DataInfo(self.name, "classification", (3,), ["low", "high"])

        def source(self, params, seed):
            x = np.linspace(0, 1, params.n * 3, dtype=np.float32).reshape(params.n, 3)
            return Source(self.info(params), x, (x[:, 0] > 0.5).astype(np.int64))

    register(Ramp("ramp-test", "a ramp"))
    try:
        with pytest.raises(ValueError, match="registered twice"):
            register(Ramp("ramp-test", "again"))
        preset = make_preset(tmp_path, "ramp-test", {"n": 50}, split={"train": 0.8, "val": 0.2, "test": 0.0})
        assert preset.data.params == RampParams(50)
        assert catalog.info("ramp-test", preset.data.params).input_shape == (3,)
        loaded = D.load(preset)
        assert len(loaded.train) + len(loaded.val) == 50 and loaded.train.x.shape[1:] == (3,)
        with pytest.raises(ConfigError) as err:
            make_preset(tmp_path, "ramp-test", {"n": 1})
        assert problem_paths(err) == ["data.params.n"]
    finally:
        del REGISTRY["ramp-test"]
    with pytest.raises(ConfigError) as err:
        make_preset(tmp_path, "ramp-test")
    assert problem_paths(err) == ["data.dataset"]


def test_every_kind_knows_its_samples_and_raw_inputs():
    """What the Dataset pane and a served model's card read from the kind, not from lists."""
    kinds = catalog.DATASETS
    assert kinds["spiral"].samples(catalog.PlaygroundParams(n_samples=1234)) == "1,234"
    assert kinds["digits"].samples(None) == "1,797"
    assert kinds["cifar10"].samples(catalog.TorchvisionParams(limit=0)) == "50,000 + 10,000 official test"
    assert kinds["csv"].samples(None) == "known once loaded"
    assert kinds["digits"].raw_input(None, (1, 8, 8))["raw"].startswith("pixel intensities 0..16")
    assert kinds["xor"].raw_input(catalog.PlaygroundParams(features=["x1", "x1x2"]), (2,))["features"] == ["x1", "x1x2"]
    assert kinds["mnist"].raw_input(None, (1, 28, 28))["raw"].startswith("pixels in [0, 1]")
    assert [n for n, k in kinds.items() if k.takes_points] == ["circle", "xor", "gauss", "spiral", "plane", "multi-gauss"]
