"""A user's own data (a CSV file, an image folder) named by a preset in the user's own
folder, as a new user tries it (issue 24): the run trains, and every command on the run
afterwards finds the data, from wherever it is typed."""

import contextlib
import os

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R

from helpers import own_project, run_cli


@contextlib.contextmanager
def working_directory(path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """``proj/`` trained from its parent folder (``tuidl train proj/mycsv.toml``): the
    CSV run and the image run, in their own runs root."""
    top = tmp_path_factory.mktemp("user")
    proj = own_project(top)
    root = top / "runs"
    runs = {}
    with working_directory(top):
        for name in ("mycsv", "myimgs"):
            out = run_cli("train", f"proj/{name}.toml", "--quiet", "--runs-dir", str(root))
            assert out.returncode == 0, out.stderr
            runs[name] = next(r for r in R.list_runs(root) if r.id not in {x.id for x in runs.values()})
    return proj, root, runs


def test_a_run_is_named_after_its_preset_and_data(project, tmp_path):
    """The run's id names what it trains (issue 24, item 11); its status names the preset."""
    _, _, runs = project
    assert "-mycsv-mydata-" in runs["mycsv"].id and "-myimgs-" in runs["myimgs"].id
    assert runs["mycsv"].read_status()["preset"] == "mycsv"
    out = run_cli("train", "spiral", "--set", "data.dataset=circle", "--epochs", "1", "--quiet",
                  "--runs-dir", str(tmp_path / "runs"))
    assert out.returncode == 0, out.stderr
    (run,) = R.list_runs(tmp_path / "runs")
    assert "-spiral-circle-" in run.id and run.read_status()["preset"] == "spiral"


def test_the_runs_copy_of_the_preset_holds_the_data_path_absolute(project):
    proj, _, runs = project
    assert P.load(runs["mycsv"].preset_path).data.params.path == str(proj / "mydata.csv")
    assert P.load(runs["myimgs"].preset_path).data.params.path == str(proj / "imgs")


@pytest.mark.parametrize("name", ["mycsv", "myimgs"])
def test_every_command_on_the_run_finds_the_data_from_another_folder(project, name, tmp_path):
    proj, root, runs = project
    run = runs[name]
    sample = proj / "imgs" / "red" if name == "myimgs" else None
    with working_directory(tmp_path):  # neither the project's folder nor the run's
        if sample is not None:
            out = run_cli("predict", str(run.path), str(sample))
            assert out.returncode == 0, out.stderr
        out = run_cli("export-model", str(run.path), "--format", "safetensors", "--out", str(tmp_path / "x"))
        assert out.returncode == 0, out.stderr
        out = run_cli("adversarial", str(run.path), "--eps", "0,0.1")
        assert out.returncode == 0, out.stderr
        out = run_cli("train", "--resume", str(run.path), "--set", "train.epochs=3", "--quiet",
                      "--runs-dir", str(root))
        assert out.returncode == 0, out.stderr
    assert R.RunDir(run.path).read_status()["status"] == "completed"
    assert R.RunDir(run.path).read_status()["epoch"] == 3


def test_predict_on_the_training_csv_leaves_its_label_column_out(project, tmp_path):
    """The CSV the run trained on, label column and all, predicts as its features alone
    (issue 24, item 12); the header picks the columns by name, in the run's order."""
    proj, _, runs = project
    run = runs["mycsv"]
    out = run_cli("predict", str(run.path), str(proj / "mydata.csv"), "--out", str(tmp_path / "with.csv"))
    assert out.returncode == 0, out.stderr
    assert "note: mydata.csv: the column 'species' is the run's label: left out" in out.stderr
    assert "note:" not in out.stdout
    lines = (proj / "mydata.csv").read_text().splitlines()
    cells = [line.split(",") for line in lines]
    # the features alone, in another order, with a column the run never saw
    (tmp_path / "other.csv").write_text("\n".join(",".join([c[3], "id" if i == 0 else str(i), c[0], c[2], c[1]])
                                                  for i, c in enumerate(cells)) + "\n")
    other = run_cli("predict", str(run.path), str(tmp_path / "other.csv"), "--out", str(tmp_path / "other-p.csv"))
    assert other.returncode == 0, other.stderr
    assert "not features of this run, left out: 'id'" in other.stderr and "in the run's order" in other.stderr
    predicted = [line.split(",", 1)[1] for line in (tmp_path / "with.csv").read_text().splitlines()[1:]]
    again = [line.split(",", 1)[1] for line in (tmp_path / "other-p.csv").read_text().splitlines()[1:]]
    assert predicted == again and len(predicted) == len(lines) - 1


def test_predict_names_a_csv_runs_features_not_points(project, tmp_path):
    proj, _, runs = project
    (tmp_path / "three.csv").write_text("1,2,3\n4,5,6\n")
    out = run_cli("predict", str(runs["mycsv"].path), str(tmp_path / "three.csv"))
    assert out.returncode == 2
    assert "expected 4: the run's features sepal, petal, width, height" in out.stderr
    assert "x1" not in out.stderr and "the features x " not in out.stderr
