"""The notebooks: kept stripped and in sync with their jupytext twins, and each one executed
on a tiny demo through its parameters cell (as papermill does: a cell placed after the one
tagged `parameters` overrides its values), everything written under a temp folder."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from pipeline import make_demo
from pipeline.core.runs.experiment import Experiment
from pipeline.core.scoring.evaluation import worst_first
from pipeline.core.task.metrics import mean_y
from pipeline.core.util.images import list_images, read_rgb
from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
NAMES = ["colab_quickstart", "explore_data", "error_analysis"]
RESULT = "NOTEBOOK-RESULT "  # the test's own last cell prints this, then JSON


def execute(name: str, params: dict, result_code: str = "") -> nbformat.NotebookNode:
    """Run notebooks/<name>.ipynb from the notebooks folder (as Jupyter would) with `params`
    replacing the defaults; `result_code`, if any, runs last and prints JSON to return."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
    if result_code:
        nb.cells.append(
            nbformat.v4.new_code_cell(f"import json\nprint({RESULT!r} + json.dumps({result_code}))")
        )
    client = NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    return nb


def outputs(nb: nbformat.NotebookNode, kind: str) -> list:
    return [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind in o.get("data", {})
    ]


def stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(
        o.text
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("name") == "stdout"
    )


def result(nb: nbformat.NotebookNode) -> dict:
    line = next(x for x in stdout(nb).splitlines() if x.startswith(RESULT))
    return json.loads(line[len(RESULT) :])


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory):
    """A tiny demo built in a temp folder, then the quickstart notebook run on it."""
    tmp = tmp_path_factory.mktemp("notebooks")
    overrides = [
        "experiment=nb",
        f"data.root={tmp / 'demo'}",
        f"data.prepared={tmp / 'prepared'}",
        f"runs={tmp / 'runs'}",
        f"submissions={tmp / 'submissions'}",
        "demo.titles=3",
        "demo.pages_per_title=2",
        "demo.test_pages=3",
        "demo.size=64",
        "prepare.patch_size=32",
        "prepare.stride=32",
        "model.args.width=8",
        "train.epochs=2",
        "train.batch_size=4",
        "infer.tta=[0,5]",
        "infer.tile=48",
        "infer.overlap=8",
        "plots.worst=2",
    ]
    assert make_demo.main(overrides) == 0  # --if-needed builds only under data/, so here
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_MODE", "disabled")
        nb = execute("colab_quickstart", {"OVERRIDES": overrides, "SHOW": 3}, "{'cv': cv}")
    return tmp, overrides, nb


def test_quickstart_runs_every_stage_and_ends_with_the_submission(quickstart):
    tmp, _, nb = quickstart
    submission = tmp / "submissions" / "submission.csv"
    lines = submission.read_text().splitlines()
    assert lines[0] == "Image File,Y Channel Value"
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(
        list_images(tmp / "demo" / "test" / "scan")
    )
    # the grid, curves.png and errors.png, shown inline
    assert len(outputs(nb, "image/png")) == 3
    cv = json.loads((tmp / "runs" / "nb" / "cv.json").read_text())
    assert result(nb)["cv"] == cv
    assert f"CV {cv['cv']:.4f} (folds ± {cv['fold_std']:.4f})" in stdout(nb)
    printed = stdout(nb).splitlines()
    last = next(i for i, line in enumerate(printed) if line.startswith(RESULT)) - 1
    assert printed[last] == f"submission: {submission.resolve()}"  # the notebook's last words
    assert len(outputs(nb, "text/html")) >= 3  # folds table, leaderboard, submission head


def test_on_kaggle_it_reads_the_input_and_writes_under_working_only(quickstart, tmp_path):
    """Kaggle mode: the competition found under the (read-only) input folder, every output
    under the working folder, submission.csv at its top; nothing written next to the input."""
    tmp, overrides, _ = quickstart
    competition = tmp_path / "input" / "descan-comp"
    shutil.copytree(tmp / "demo", competition)
    before = sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "input").rglob("*"))
    working = tmp_path / "working"
    fast = [o for o in overrides if o.split("=")[0] not in DATA_KEYS]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_MODE", "disabled")
        nb = execute(
            "colab_quickstart",
            {
                "OVERRIDES": fast,
                "SHOW": 2,
                "KAGGLE": True,
                "KAGGLE_INPUT": str(tmp_path / "input"),
                "KAGGLE_WORKING": str(working),
            },
            "{'data': str(cfg.data.root), 'runs': str(cfg.runs)}",
        )
    got = result(nb)
    assert got == {"data": str(competition), "runs": str(working / "runs")}
    assert (working / "submission.csv").is_file() and (working / "runs" / "nb").is_dir()
    assert sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "input").rglob("*")) == before
    assert "working in " + str(working) + " (Kaggle)" in stdout(nb)


DATA_KEYS = {"data.root", "data.prepared", "runs", "submissions"}


def test_explore_data_sees_the_pairs_as_the_metric_does(quickstart):
    tmp, overrides, _ = quickstart
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_MODE", "disabled")
        nb = execute(
            "explore_data",
            {"OVERRIDES": overrides, "EXAMPLES": 2},
            "{'pairs': len(pairs), 'titles': per_title['pages'].to_dict(), 'identity': IDENTITY}",
        )
    got = result(nb)
    scans, cleans = (
        list_images(tmp / "demo" / "train" / "scan"),
        list_images(tmp / "demo" / "train" / "clean"),
    )
    identity = np.mean(
        [abs(mean_y(read_rgb(scans[s])) - mean_y(read_rgb(cleans[s]))) for s in scans]
    )
    assert got["pairs"] == 6
    assert got["titles"] == {"BookOfMaking": 2, "CityLights": 2, "GardenWeekly": 2}
    assert got["identity"] == pytest.approx(identity, abs=1e-12)
    assert len(outputs(nb, "image/png")) == 3  # mean Y view, examples, degradations


def test_error_analysis_ranks_worst_first_and_compares(quickstart):
    tmp, overrides, _ = quickstart
    runs = tmp / "runs"
    # a second experiment to compare with: the same folder with the learning rate doubled
    lr = float(re.search(r"^  lr: (\S+)$", (runs / "nb" / "config.yaml").read_text(), re.M)[1])
    if not (runs / "nb_lr").exists():
        shutil.copytree(runs / "nb", runs / "nb_lr")
        config = runs / "nb_lr" / "config.yaml"
        config.write_text(config.read_text().replace(f"  lr: {lr}\n", f"  lr: {2 * lr}\n", 1))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_MODE", "disabled")
        nb = execute(
            "error_analysis",
            {"OVERRIDES": overrides, "WORST": 2, "COMPARE": "nb_lr"},
            "{'ranked': table['stem'].tolist(), 'fold_mean': folds['oof_score'].mean(), "
            "'cv': cv['cv'], 'titles': titles.index.tolist(), "
            "'worse': int((delta['change'] > 0).sum())}",
        )
    got = result(nb)
    expected = worst_first(Experiment(runs, "nb").read_oof())
    assert got["ranked"] == [r["stem"] for r in expected]
    assert got["fold_mean"] == pytest.approx(got["cv"], abs=1e-9)
    assert len(got["titles"]) == 3 and got["worse"] == 0
    text = stdout(nb)
    assert f"config: 1 key(s) differ between nb_lr and nb\n  train.lr  {2 * lr} -> {lr}\n" in text
    assert "delta +0.0000" in text
    # worst grid, errors, curves
    assert len(outputs(nb, "image/png")) == 3


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_stripped_and_match_their_text_twin(name: str):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.jupytext.formats == "ipynb,py:percent"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "outputs not stripped"
    twin = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert [(c.cell_type, c.source) for c in twin.cells] == [
        (c.cell_type, c.source) for c in nb.cells
    ]
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1


def test_installing_and_colab_steps_are_guarded():
    lines = (NOTEBOOKS / "colab_quickstart.py").read_text().splitlines()
    for needle in ("google.colab import", "drive.mount(", "files.download(", '"pip"'):
        found = [x for x in lines if needle in x and not x.lstrip().startswith("#")]
        assert found and all(x.startswith("    ") for x in found), needle  # under an `if`
    assert 'if importlib.util.find_spec("pipeline") is None:' in lines  # only where missing
    assert sum("REPO_URL =" in x for x in lines) == 1  # the one place to set it
    for name in NAMES:
        assert "sys.path" not in (NOTEBOOKS / f"{name}.py").read_text(), name


def test_readme_badge_opens_the_quickstart():
    readme = (REPO / "README.md").read_text()
    assert "colab-badge.svg" in readme
    assert "/blob/main/notebooks/colab_quickstart.ipynb" in readme
    assert Path(NOTEBOOKS / "colab_quickstart.ipynb").is_file()
