"""README.md, docs/*.md and notebooks/README.md against the code: the config keys they name are
in the schema, the stages they name exist and the README's stage table lists every one, the
repository paths and links resolve, the file names are ones the code writes, and the printed
examples are what the code prints. Text parsing and a few calls into the core: no training."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import re
import typing
from pathlib import Path

import numpy as np
import pytest

from pipeline.__main__ import STAGES
from pipeline.core.config.load import load_config, to_yaml
from pipeline.core.config.schema import Config
from pipeline.core.runs.experiment import Experiment
from pipeline.core.scoring.evaluation import cv_line, ladder_line
from pipeline.core.scoring.evaluation import experiment_diff as diff_report
from pipeline.core.task.task import Task
from tests.conftest import REPO
from tests.stages.test_help import stage_help

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md")), REPO / "notebooks" / "README.md"]
# Folders that hold what the stages generate: a path under them is an example, not a file here.
GENERATED = {"data", "runs", "submissions", "wandb", "dist", ".venv"}
# Names of files the stages write (a pipeline source must spell them out) or the repository holds.
WRITTEN = ("pt", "csv", "json", "u8", "npy", "png", "yaml", "yml")
CODE = "\n".join(p.read_text() for p in sorted((REPO / "pipeline").rglob("*.py")))
SOURCES = {
    p.name for d in ("pipeline", "tests", "notebooks", "scripts") for p in (REPO / d).rglob("*")
}


def text(page: Path) -> str:
    return page.read_text()


def prose(page: Path) -> str:
    """The page without its fenced code blocks (where `#` starts a comment, not a heading)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", text(page), flags=re.S | re.M)


def blocks(body: str) -> list[str]:
    """The fenced code blocks of a page or a section, in order."""
    return re.findall(r"^```[^\n]*\n(.*?)^```", body, flags=re.S | re.M)


def inline_code(page: Path) -> list[str]:
    return re.findall(r"`([^`]+)`", prose(page))


def section(page: Path, heading: str) -> str:
    """The text from `## heading` to the next heading of level 2."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text(page), re.S | re.M)
    assert match, f"{page.name}: no section '## {heading}'"
    return match.group(1)


def where(page: Path) -> str:
    return str(page.relative_to(REPO))


# -- config keys ---------------------------------------------------------------------------


def schema_keys() -> tuple[set[str], set[str]]:
    """Every dotted key of the config schema, and the keys whose values are mappings a user
    fills (model.args, train.loss_terms, an albumentations pipeline...): any key below those."""
    keys: set[str] = set()
    open_keys: set[str] = set()

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key, kind = prefix + f.name, hints[f.name]
            keys.add(key)
            if dataclasses.is_dataclass(kind):
                walk(kind, key + ".")
            elif kind is typing.Any or typing.get_origin(kind) is dict:
                open_keys.add(key)

    walk(Config, "")
    return keys, open_keys


KEYS, OPEN_KEYS = schema_keys()
SECTIONS = sorted({k.split(".")[0] for k in KEYS if "." in k})
KEY_REF = re.compile(rf"(?<![\w./-])((?:{'|'.join(SECTIONS)})(?:\.[A-Za-z_]\w*)+)")
EXTENSIONS = {"py", "md", "sh", "txt", "toml", *WRITTEN}


def config_key_refs(page: Path) -> set[str]:
    """`section.key` (and `section.key=value`) wherever the page names one, code included;
    error messages aside, since they show mistakes on purpose."""
    body = re.sub(r"`error:[^`]*`|^error:.*$", "", text(page), flags=re.M)
    refs = set(KEY_REF.findall(body))
    return {r for r in refs if r.rsplit(".", 1)[1] not in EXTENSIONS}  # demo.yaml is a file


def known_key(key: str) -> bool:
    return key in KEYS or any(key.startswith(k + ".") for k in OPEN_KEYS)


def test_the_schema_walk_finds_keys_and_refuses_others():
    assert {"data.root", "train.time_budget", "synth.jpeg_p", "kaggle.competition"} <= KEYS
    assert known_key("model.args.base") and known_key("train.loss_terms.l1")
    assert not known_key("train.epochz") and not known_key("train.lr.max")
    assert config_key_refs(README) >= {"data.root", "train.select", "model.args"}


@pytest.mark.parametrize("page", PAGES, ids=where)
def test_every_config_key_named_is_in_the_schema(page: Path):
    stale = sorted(k for k in config_key_refs(page) if not known_key(k))
    assert not stale, f"{where(page)} names config keys the schema lacks: {stale}"


# -- stages --------------------------------------------------------------------------------


def stage_table() -> list[tuple[str, str]]:
    """(stage, its --config column) of each row of the README's stage table, in order."""
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \|", section(README, "Stages"), re.M)
    assert rows, "README.md: no stage table under '## Stages'"
    return rows


def test_the_stage_table_lists_every_stage_in_order():
    assert [s for s, _ in stage_table()] == list(STAGES), (
        "README.md's stage table differs from pipeline/__main__.py's STAGES"
    )


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_stage_table_says_which_stages_take_a_config(stage: str):
    column = dict(stage_table())[stage]
    code, out = stage_help(stage)
    takes = "yes" if "--config" in out else "no"
    assert code == 0 and column == takes, (
        f"README.md's stage table says `{stage}` --config: {column}; its --help says {takes}"
    )


@pytest.mark.parametrize("page", PAGES, ids=where)
def test_every_stage_and_module_named_exists(page: Path):
    body = text(page)
    stages = re.findall(r"-m pipeline\.([a-z_]+)", body)
    stages += re.findall(r"(?:^|`)descan ([a-z_]+)", body, re.M)
    stale = sorted({s for s in stages if s not in STAGES})
    assert not stale, f"{where(page)} names stages that do not exist: {stale}"
    modules = re.findall(r"(?<![\w/.-])pipeline((?:\.[a-z_]\w*)+)", body)
    missing = sorted({"pipeline" + m for m in modules if not module_exists(m.split(".")[1:])})
    assert not missing, f"{where(page)} names modules that do not exist: {missing}"


def module_exists(parts: list[str]) -> bool:
    """pipeline.<parts> is a module or package, or an attribute of one (its last part)."""
    for n in (len(parts), len(parts) - 1):
        base = REPO.joinpath("pipeline", *parts[:n])
        if n and (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()):
            return True
    return False


# -- paths, links, file names --------------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", prose(page), re.M)}


@pytest.mark.parametrize("page", PAGES, ids=where)
def test_every_link_resolves(page: Path):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(page)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (
            anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved))
        ):
            broken.append(target)
    assert not broken, f"{where(page)} links to what is not there: {broken}"


def repository_path(span: str) -> Path | None:
    """The repository file a backticked path names, or None when it names none: a
    placeholder (`runs/<experiment>/`), a generated file, a path inside a data folder."""
    if not re.fullmatch(r"[\w.\-/]+", span) or "/" not in span or span.startswith(("/", "..")):
        return None
    first = span.split("/")[0]
    if first == "core":  # a module path from the package's root
        return REPO / "pipeline" / span
    top = {p.name for p in REPO.iterdir()} - GENERATED
    return REPO / span if first in top else None


def test_the_path_check_tells_a_file_from_a_placeholder():
    assert (
        repository_path("pipeline/core/config/schema.py") == REPO / "pipeline/core/config/schema.py"
    )
    assert repository_path("core/pairing.py") == REPO / "pipeline/core/pairing.py"
    assert repository_path("runs/<experiment>/fold<k>/") is None
    assert repository_path("data/demo/test/truth.csv") is None
    assert repository_path("train/scan") is None


@pytest.mark.parametrize("page", PAGES, ids=where)
def test_every_repository_path_named_exists(page: Path):
    missing = []
    for span in inline_code(page):
        path = repository_path(span)
        if path is not None and not path.exists():
            missing.append(span)
    assert not missing, f"{where(page)} names files that do not exist: {missing}"


def known_file_name(name: str) -> bool:
    """A file the repository holds, or one a pipeline source names in quotes (what it writes)."""
    return name in SOURCES or re.search(rf"[\"']{re.escape(name)}[\"']", CODE) is not None


@pytest.mark.parametrize("page", PAGES, ids=where)
def test_every_file_name_named_is_written_or_held(page: Path):
    """A bare file name (`final.pt`, `cv.json`, `schema.py`) is one the code writes or a file
    of the repository; FILE.csv-style placeholders aside."""
    unknown = []
    for span in inline_code(page):
        match = re.fullmatch(r"([\w-]+)\.(\w+)", span)
        if not match or match.group(2) not in EXTENSIONS or match.group(1).isupper():
            continue
        if not (
            known_file_name(span) or (REPO / span).exists() or (REPO / "configs" / span).exists()
        ):
            unknown.append(span)
    assert not unknown, f"{where(page)} names files nothing writes or holds: {unknown}"


def test_the_fold_files_are_the_ones_train_writes():
    run = Experiment(REPO / "runs", "x")
    written = {p(0).name for p in (run.last, run.best, run.final, run.metrics_path, run.done_path)}
    line = next(x for x in section(README, "Outputs").splitlines() if "fold<k>/ " in x)
    named = set(re.findall(r"[\w.]+\.\w+", line.split("/", 3)[-1]))
    assert named == written, (
        f"README.md's fold line names {sorted(named)}; train writes {sorted(written)}"
    )


# -- the quick start and the experiment's name ----------------------------------------------


def test_the_quick_start_commands_name_real_files():
    commands = blocks(section(README, "Quick start"))[0]
    assert "bash run_all.sh" in commands
    for line in commands.splitlines():
        words = line.split("#", 1)[0].split()
        for word in words:
            if "=" in word:
                assert known_key(word.split("=", 1)[0]), f"README.md quick start: {word}"
            elif word.endswith((".sh", ".yaml", ".py")) or (
                "/" in word and not word.startswith("/")
            ):
                assert (REPO / word).exists(), f"README.md quick start names {word}: not there"


@pytest.mark.parametrize(
    ("config", "name"),
    [("configs/descan.yaml", "descan"), ("configs/descan_gpu.yaml", "descan_gpu")],
)
def test_a_competition_folder_names_its_experiment_as_the_readme_says(config: str, name: str):
    assert config in (REPO / "run_all.sh").read_text()  # what run_all.sh picks for data.root=DIR
    assert load_config(config, ["data.root=/somewhere/mydata"]).experiment == f"{name}-mydata"
    assert f"`{name}-<folder>`" in section(README, "Quick start")


def test_another_data_folder_names_the_demo_experiment_as_the_readme_says():
    assert load_config(None, ["data.root=/somewhere/mydata"]).experiment == "demo-mydata"
    assert "`demo-mydata`" in section(README, "Configuration")


# -- printed examples ----------------------------------------------------------------------


def block_starting(page: Path, start: str) -> list[str]:
    found = [b for b in blocks(text(page)) if b.startswith(start)]
    assert found, f"{where(page)}: no code block starting with {start!r}"
    return found[0].splitlines()


def numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", line)]


def test_the_demo_output_is_what_infer_prints():
    cv_text, ladder_text, _ = block_starting(README, "CV score")
    images = int(re.search(r"over (\d+) out-of-fold", cv_text).group(1))
    cv, low, high, fold_mean, fold_std, identity = numbers(cv_text)
    titles = int(re.search(r"over (\d+) titles", cv_text).group(1))
    rungs = dict(re.findall(r"(\w+) (\d+\.\d+)", ladder_text.split("the experiment")[0]))
    summary = {"images": images, "cv": cv, "fold_mean": fold_mean, "fold_std": fold_std}
    summary["interval"] = {"low": low, "high": high, "units": titles, "unit": "title"}
    summary |= {"identity": identity, "ladder": {k: float(v) for k, v in rungs.items()}}
    assert cv_line(summary, Task("descan")) == cv_text
    assert ladder_line(summary) == ladder_text


def test_the_demo_test_score_is_what_score_prints(tmp_path, monkeypatch):
    from pipeline.core.config.load import load_config
    from pipeline.core.scoring.held_out import experiment_report, held_out_interval

    line = block_starting(README, "CV score")[2]
    interval = r" \(95% interval (\S+) to (\S+) over (\d+) titles\)"
    match = re.fullmatch(rf"demo: test (\S+){interval} \((\S+) against (\S+), (\d+) images\)", line)
    assert match, line
    value, _, _, titles, submission, truth, n = match.groups()
    monkeypatch.chdir(tmp_path)
    # the score as in the README; the per-image errors (not in the README) spread about it
    ids = [f"T{i % int(titles)}.{i:05d}.01" for i in range(int(n))]
    swing = np.sin(np.arange(int(n)))
    errors = float(value) + swing - swing.mean()
    for path, offsets in ((submission, 0 * errors), (truth, errors)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(
                [["Image File", "Y Channel Value"]]
                + [[i, 100 + e] for i, e in zip(ids, offsets, strict=True)]
            )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        experiment_report(load_config(None, []), print)
    expected = held_out_interval(
        dict(zip(ids, 100 + 0 * errors, strict=True)), dict(zip(ids, 100 + errors, strict=True))
    )
    assert (expected.units, expected.unit) == (int(titles), "title")
    printed = re.sub(
        interval, f" (95% interval {expected.low:.4f} to {expected.high:.4f} over \\3 titles)", line
    )
    assert printed in out.getvalue().splitlines()


def write_experiment(
    runs: Path, overrides: list[str], cv: float, fold_std: float, wave: float
) -> None:
    """An experiment as run_all.sh records it, with out-of-fold errors of mean `cv` over the
    demo's 30 images (6 titles, 3 folds) that vary by `wave` about it."""
    cfg = load_config(None, ["train.resume=auto", *overrides])
    run = Experiment(runs, cfg.experiment)
    run.write_config(to_yaml(cfg))
    run.write_cv({"task": "descan", "scale": 1, "cv": cv, "fold_std": fold_std})
    swing = np.sin(wave * np.arange(30))
    errors = cv + swing - swing.mean()
    rows = [
        {
            "stem": f"T{i // 5}.{i % 5:05d}.01",
            "title": f"T{i // 5}",
            "fold": i // 5 % 3,
            "abs_err": e,
        }
        for i, e in enumerate(errors)
    ]
    run.write_oof(rows, ["stem", "title", "fold", "abs_err"])


def test_the_diff_example_is_what_leaderboard_prints(tmp_path):
    lines = block_starting(README, "config: ")
    a, b = re.search(r"between (\S+) and (\S+)$", lines[0]).groups()
    loop = section(README, "Iterating and submitting")
    overrides = re.search(rf"bash run_all.sh (experiment={re.escape(b)} .*?)\s+#", loop).group(1)
    cv_a, std_a, cv_b, std_b = numbers(lines[-2])[:4]
    write_experiment(tmp_path, [], cv_a, std_a, wave=1.0)
    write_experiment(tmp_path, overrides.split(), cv_b, std_b, wave=1.3)
    assert diff_report(tmp_path, a, b).splitlines() == lines


def test_the_submit_example_is_what_submit_prints(tmp_path, monkeypatch):
    from pipeline import submit

    lines = block_starting(README, "submit: ")
    csv_path, rows = re.search(
        r"submit: (\S+) is a valid submission \((\d+) rows\)", lines[0]
    ).groups()
    competition = re.search(r" -c (\S+) ", lines[2]).group(1)
    cv, fold_std = numbers(lines[2].split("-m", 1)[1])[:2]
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.chdir(tmp_path)
    Experiment(Path("runs"), "demo").write_cv({"cv": cv, "fold_std": fold_std})
    Path(csv_path).parent.mkdir(parents=True)
    Path(csv_path).write_text(
        "Image File,Y Channel Value\n" + "".join(f"p{i},100\n" for i in range(int(rows)))
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert submit.main([f"kaggle.competition={competition}"]) == 0
    commit = re.compile(r" @ [0-9a-f]{7,}'$")
    assert [commit.sub(" @ C'", x) for x in out.getvalue().splitlines()] == [
        commit.sub(" @ C'", x) for x in lines
    ]
