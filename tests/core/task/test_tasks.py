"""The task section: what each Task reports and offers, the config errors that keep a task's
settings consistent, the GoPro layout, and a short run of every shipped system config."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline import export, infer, make_demo, prepare, score, train
from pipeline.core.config.load import load_config
from pipeline.core.data.layout import held_out_inputs, training_pairs
from pipeline.core.data.store import PairStore
from pipeline.core.runs.experiment import Experiment, load_triplets
from pipeline.core.scoring.evaluation import side_by_side
from pipeline.core.task import metrics as M
from pipeline.core.task.task import KINDS, Task
from pipeline.core.train.gan import GAN_COLUMNS
from pipeline.core.train.trainer import TASK_COLUMNS
from pipeline.core.util.errors import UserError
from tests.conftest import (
    REPO,
    random_page,
    read_csv,
    run_cli,
    save,
)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("task.kind=inpaint", "task.kind"),
        ("task.scale=2", "set task.kind=sr"),
        ("train.optimizer=sgd", "train.optimizer"),
        ("train.agc=-1", "train.agc"),
        ("train.loss_terms.ssim=1", "train.loss_terms.ssim: unknown loss term"),
        ("train.loss_terms.perceptual=0.2", "train.vgg_weights"),
        ("gan.mode=wgan", "gan.mode"),
        ("gan.betas=[0.5]", "gan.betas"),
        ("data.layout=gopro", "data.layout"),
        ("demo.task=colorize", "demo.task"),
        ("model.bicubic_skip=true", "model.bicubic_skip"),
    ],
)
def test_task_loss_and_gan_config_errors(override: str, fragment: str):
    with pytest.raises(UserError) as info:
        load_config(None, [override])
    assert fragment in str(info.value)


def make_gopro(root: Path) -> Path:
    rng = np.random.default_rng(1)
    train = ("GOPR0001_00", "GOPR0002_00", "GOPR0003_00")
    for split, seqs in (("train", train), ("test", ("GOPR9_00",))):
        for seq in seqs:
            for frame in ("000001", "000002"):  # the same frame names in every sequence
                sharp = random_page(rng, 32, 40)
                save(root / split / seq / "sharp" / f"{frame}.png", sharp)
                save(root / split / seq / "blur" / f"{frame}.png", sharp // 2)
    return root


def test_gopro_layout_pairs_by_sequence_and_frame(tmp_path: Path):
    root = make_gopro(tmp_path / "gopro")
    cfg = load_config(None, [f"data.root={root}", "task.kind=deblur", "augment.synthetic_p=0"])
    pairs = training_pairs(cfg)
    assert [p.stem for p in pairs] == [f"GOPR000{s}_00.00000{f}" for s in (1, 2, 3) for f in (1, 2)]
    assert all(p.scan.parent.name == "blur" and p.clean.parent.name == "sharp" for p in pairs)
    assert all(p.scan.parts[-3] == p.stem.split(".")[0] for p in pairs)
    assert sorted(held_out_inputs(cfg)) == ["GOPR9_00.000001", "GOPR9_00.000002"]
    (root / "train" / "GOPR0002_00" / "sharp" / "000002.png").unlink()
    with pytest.raises(UserError, match="GOPR0002_00/sharp: no clean image for scan"):
        training_pairs(cfg)


def test_gopro_prepare_groups_folds_by_sequence(tmp_path: Path):
    root = make_gopro(tmp_path / "gopro")
    args = [
        f"data.root={root}",
        "task.kind=deblur",
        "augment.synthetic_p=0",
        f"data.prepared={tmp_path / 'p'}",
        "prepare.patch_size=16",
    ]
    result = run_cli("pipeline.prepare", *args)
    assert result.code == 0, result.err
    assert "gopro layout" in result.out
    store = PairStore(next((tmp_path / "p").iterdir()))
    folds = {}
    for rec in store.images:
        folds.setdefault(rec.title, set()).add(rec.fold)
    assert sorted(folds) == ["GOPR0001_00", "GOPR0002_00", "GOPR0003_00"]
    assert all(len(f) == 1 for f in folds.values())


SYSTEMS = [
    "descan_dncnn",
    "denoise_dncnn",
    "deblur_resunet",
    "srgan_x4",
    "sr_edsr_deconv_x2",
    "sr_rdn_light_x2",
    "sr_srcnn_deconv_x3",
    "pix2pix_deflare",
]


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_system_config_runs_end_to_end(tmp_path: Path, name: str, monkeypatch, capsys):
    """Each system's config through every stage on a tiny demo of its task, a few steps."""
    monkeypatch.setenv("WANDB_MODE", "disabled")
    config = str(REPO / "configs" / f"{name}.yaml")
    overrides = [
        f"data.root={tmp_path / 'data'}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        f"submissions={tmp_path / 'subs'}",
        "demo.titles=2",
        "demo.pages_per_title=2",
        "demo.test_pages=2",
        "demo.size=64",
        "train.epochs=1",
        "train.samples_per_epoch=4",
        "train.batch_size=4",
        "infer.tta=[0]",
        "wandb.mode=disabled",
    ]
    for stage in (make_demo, prepare, train, infer, export, score):
        assert stage.main(["--config", config, *overrides]) in (0, None), stage.__name__
    out = capsys.readouterr().out
    cfg = load_config(config, overrides)
    # another dataset than the config's: an experiment of its own, named after both
    assert cfg.experiment == f"{name}-data"
    run = tmp_path / "runs" / cfg.experiment
    rows = read_csv(run / "fold0" / "metrics.csv")
    assert len(rows) == 1
    keys = ["train_loss", "val_psnr", "val_score"]
    if cfg.task.kind != "descan":
        keys += TASK_COLUMNS
    if cfg.gan.discriminator:
        keys += GAN_COLUMNS
    assert set(keys) <= set(rows[0])
    assert all(math.isfinite(float(rows[0][k])) for k in keys), rows[0]
    cv = json.loads((run / "cv.json").read_text())
    assert len(cv["folds"]) == cfg.prepare.folds
    preds = sorted((run / "pred" / "test").glob("*.png"))
    assert len(preds) == 2
    if cfg.task.kind == "descan":
        assert (tmp_path / "subs" / f"{cfg.experiment}.csv").is_file() and "test " in out
    else:
        assert not (tmp_path / "subs").exists()
        assert 0 < cv["psnr"] < 100 and 0 < cv["ssim"] <= 1
        assert cv["gain"] == pytest.approx(cv["psnr"] - cv["baseline_psnr"], abs=1e-6)
        assert f"{cfg.experiment}: test (" in out and "gain" in out
        from PIL import Image

        side = 64 - 64 % cfg.task.scale
        assert Image.open(preds[0]).size == (side, side)
    # The worst-first grid and the W&B OOF table show scan | prediction | clean side by side:
    # for sr the scan is its bicubic upscale, the size of the others.
    (triplet,) = load_triplets(cfg, Experiment(run.parent, run.name).read_oof()[:1])
    assert triplet.scan.shape == triplet.pred.shape == triplet.clean.shape
    assert side_by_side(triplet.scan, triplet.pred, triplet.clean).shape[1] > triplet.scan.shape[1]


@pytest.mark.parametrize(
    ("kind", "scale", "metric", "lower", "submission", "monitors"),
    [
        ("descan", 1, "score", True, True, ["score", "y_mae", "psnr"]),
        ("deblur", 1, "psnr", False, False, ["score", "y_mae", "psnr", "ssim"]),
        ("denoise", 1, "psnr", False, False, ["score", "y_mae", "psnr", "ssim"]),
        ("deflare", 1, "psnr", False, False, ["score", "y_mae", "psnr", "ssim"]),
        ("sr", 3, "psnr", False, False, ["score", "y_mae", "psnr", "ssim"]),
    ],
)
def test_each_task_knows_its_metric_its_direction_and_its_outputs(
    kind, scale, metric, lower, submission, monitors
):
    task = Task(kind, scale)
    assert task.metric == metric and task.default_monitor == metric
    assert task.lower_is_better is lower and task.better(1.0, 2.0) is lower
    assert task.has_submission is submission
    assert list(task.monitors) == monitors
    assert task.baseline_name == ("bicubic" if scale > 1 else "identity")
    extra = ["ssim", "baseline_psnr", "baseline_ssim", "gain"] if kind != "descan" else []
    assert list(task.image_metrics) == [
        "abs_err",
        "identity_err",
        "mean_y_pred",
        "mean_y_true",
        "y_mae",
        "psnr",
        *extra,
    ]


def test_a_tasks_row_is_the_metrics_computed_by_hand():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    pred = np.clip(truth.astype(int) + 3, 0, 255).astype(np.uint8)
    base = np.clip(truth.astype(int) - 9, 0, 255).astype(np.uint8)
    row = Task("deblur").score(pred, truth, base)
    assert row["abs_err"] == pytest.approx(abs(M.mean_y(pred) - M.mean_y(truth)))
    assert row["identity_err"] == pytest.approx(abs(M.mean_y(base) - M.mean_y(truth)))
    assert row["psnr"] == pytest.approx(M.psnr_rgb(pred, truth))
    assert row["gain"] == pytest.approx(M.psnr_rgb(pred, truth) - M.psnr_rgb(base, truth))
    sr = Task("sr", 2).score(pred, truth, base)
    assert sr["psnr"] == pytest.approx(M.psnr_y(pred, truth, 2))
    assert sr["ssim"] == pytest.approx(M.ssim_y(pred, truth, 2))
    assert "ssim" not in Task().score(pred, truth, base)


def test_no_code_outside_the_task_module_compares_task_kind_with_a_string():
    kinds = "descan|deblur|denoise|deflare|sr"
    pattern = re.compile(
        rf"task\.kind\s*(==|!=|\bin\b)|\bkind\s*(==|!=)\s*[\"']({kinds})[\"']"
        rf"|[\"']({kinds})[\"']\s*(==|!=)"
    )
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "pipeline").rglob("*.py"))
        if path.name != "task.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def _kind_literals(source: str) -> list[int]:
    """Lines of `source` holding a string that is exactly a task kind ("descan", "sr", ...),
    the W&B project's name (`project: str = "descan"`) apart."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "project":
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Constant) and child.value in KINDS:
                lines.append(child.lineno)
    return sorted(set(lines))


def test_no_code_outside_the_task_module_spells_a_task_kind():
    """A default such as `.get("task", "descan")` decides a kind as surely as a comparison:
    the task module names them (Task.named, Task.for_scale, DEFAULT_KIND)."""
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "pipeline").rglob("*.py"))
        if path.name != "task.py"
        for n in _kind_literals(path.read_text())
    ]
    assert offenders == []
    # and the check can fail: the literal the blend once held
    assert _kind_literals('task = (cv or {}).get("task", "descan")\n') == [1]
    assert _kind_literals('project: str = "descan"\n') == []
