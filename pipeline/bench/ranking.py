"""Does the CV rank methods as the test does, and from how many titles:
`python -m pipeline.bench ranking --config C data.root=DIR --experiments A B ...`.

The methods are the ladder's rungs (out of fold on the config's store, fitted on all training
pairs for the test) and the named experiments (their oof_scores.csv; for the test, their
submission CSV where `export` or `auto` wrote one, else their saved test predictions). Each
gets its CV and its test score against data.test_truth; the rank correlation of the two
(Spearman, over methods) says whether choosing by CV chooses what the test would.

How many titles the CV needs: for k training titles, many draws of k titles each; a draw's CV
of each method is its error over those titles' out-of-fold images, ranked against the test.
The models were trained on every title, so this measures the evaluation alone: how many
titles' images it takes for the CV's ranking to settle, not how a folder of k titles trains.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ..core.config import cli
from ..core.data.layout import data_path, held_out_inputs, open_store
from ..core.runs.experiment import Experiment
from ..core.scoring.blending import test_values
from ..core.scoring.ladder import RUNGS, ladder_of, predict_held_out
from ..core.task.submission import read_submission
from ..core.util.errors import UserError
from ..core.util.files import write_text

DESCRIPTION = """\
Whether the CV ranks methods as the test does: the ladder's rungs and the named experiments,
each with its CV (out of fold) and its test score (data.test_truth), the Spearman rank
correlation of the two, and the same for the CV over k training titles only (many draws per k),
to see from which number of titles the CV ranks as the test does. Needs a folder with its test
truth (`python -m pipeline.bench study-sets` writes one) and experiments inferred out of fold on
its store (`auto` trains several).

  python -m pipeline.bench ranking --config configs/descan.yaml data.root=DIR \\
      experiment=descan-DIR --experiments descan-DIR descan-DIR-pagenet descan-DIR-resunet"""

DRAWS = 400


def method_table(cfg, experiments: list[str]) -> dict[str, Any]:
    """Each method's out-of-fold predicted mean Y by stem, its test values, and the truths."""
    store = open_store(cfg)
    truth_csv = data_path(cfg, "test_truth")
    if not truth_csv.is_file():
        raise UserError(f"{truth_csv}: not found; the ranking needs the test truth")
    test_truth = read_submission(truth_csv, extra_columns=True)
    ladder = ladder_of(store)
    rung_test = predict_held_out(store, held_out_inputs(cfg))
    oof = {rung: ladder["oof"][rung] for rung in RUNGS}
    test = {rung: rung_test[rung] for rung in RUNGS}
    for name in experiments:
        run = Experiment(cfg.runs, name)
        oof[name] = {r["stem"]: r["mean_y_pred"] for r in run.read_oof()}
        csv = Path(cfg.submissions) / f"{name}.csv"  # what export or auto submitted
        test[name] = read_submission(csv) if csv.is_file() else test_values([run], np.ones(1))
    stems = sorted(ladder["truth"])
    for name, values in oof.items():
        if sorted(values) != stems:
            raise UserError(f"{name}: its out-of-fold images are not the store's; infer it on it")
    titles = {r.stem: r.title for r in store.images}
    return {
        "oof": oof,
        "test": test,
        "truth": ladder["truth"],
        "test_truth": test_truth,
        "titles": titles,
    }


def ranking(table: dict[str, Any], ks: list[int], draws: int = DRAWS, seed: int = 0) -> dict:
    """CV and test per method, their Spearman correlation, and per k titles the mean Spearman
    of the k-title CV with the test and how often its best method is the test's."""
    methods = list(table["oof"])
    stems = sorted(table["truth"])
    err = np.array([[abs(table["oof"][m][s] - table["truth"][s]) for s in stems] for m in methods])
    ids = sorted(table["test_truth"])
    test_truth = np.array([table["test_truth"][i] for i in ids])
    test = {}
    for m in methods:
        missing = set(ids) - set(table["test"][m])
        if missing:
            raise UserError(f"{m}: no test value for {len(missing)} test image(s)")
        test[m] = float(np.mean(np.abs(np.array([table["test"][m][i] for i in ids]) - test_truth)))
    cv = dict(zip(methods, err.mean(axis=1).tolist(), strict=True))
    test_scores = np.array([test[m] for m in methods])
    best_test = int(np.argmin(test_scores))
    titles = np.array([table["titles"][s] for s in stems])
    names = sorted(set(titles.tolist()))
    rng = np.random.default_rng(seed)
    by_k = {}
    for k in ks:
        if k > len(names):
            continue
        rhos, hits = [], []
        for _ in range(draws if k < len(names) else 1):
            picked = rng.choice(len(names), size=k, replace=False)
            mask = np.isin(titles, [names[i] for i in picked])
            sub = err[:, mask].mean(axis=1)
            rhos.append(stats.spearmanr(sub, test_scores).statistic)
            hits.append(int(np.argmin(sub)) == best_test)
        by_k[k] = {"spearman": float(np.nanmean(rhos)), "best_is_test_best": float(np.mean(hits))}
    return {
        "methods": methods,
        "cv": cv,
        "test": test,
        "spearman": float(stats.spearmanr(err.mean(axis=1), test_scores).statistic),
        "titles": len(names),
        "images": len(stems),
        "test_images": len(ids),
        "by_titles": by_k,
    }


def report(result: dict) -> str:
    cv, test = result["cv"], result["test"]
    order = sorted(result["methods"], key=lambda m: test[m])
    lines = [
        f"{result['images']} out-of-fold images over {result['titles']} titles; "
        f"{result['test_images']} test images",
        "",
        "| method | CV | test | CV rank | test rank |",
        "|---|---|---|---|---|",
    ]
    cv_rank = {m: i + 1 for i, m in enumerate(sorted(result["methods"], key=lambda m: cv[m]))}
    for i, m in enumerate(order):
        lines.append(f"| {m} | {cv[m]:.4f} | {test[m]:.4f} | {cv_rank[m]} | {i + 1} |")
    lines += [
        "",
        f"Spearman (CV, test) over {len(order)} methods: {result['spearman']:.3f}",
        "",
        "| training titles in the CV | mean Spearman with the test | CV best = test best |",
        "|---|---|---|",
    ]
    for k, r in result["by_titles"].items():
        lines.append(f"| {k} | {r['spearman']:.3f} | {r['best_is_test_best']:.0%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = cli.stage_parser("pipeline.bench ranking", DESCRIPTION)
    parser.add_argument("--experiments", nargs="+", default=[], metavar="EXP")
    parser.add_argument(
        "--titles",
        nargs="+",
        type=int,
        default=[3, 5, 10, 20, 40],
        metavar="K",
        help="numbers of training titles to draw (default: 3 5 10 20 40)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    args, cfg = cli.parse_config(parser, argv)
    result = ranking(method_table(cfg, args.experiments), args.titles)
    print(report(result))
    if args.json:
        write_text(Path(args.json), json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    cli.run(main)
