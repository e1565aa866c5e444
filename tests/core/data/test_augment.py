# ruff: noqa: E501  (the expected error messages are one line each, quoted whole)
"""augment.pipeline and augment.scan_only: albumentations pipelines in their own serialized form,
checked with one-line errors, applied identically to scan and clean (geometric) or to the scan
alone (photometric), keyed on (seed, epoch, draw), aligned at the scale for super-resolution,
and as fast as the flips written by hand."""

from __future__ import annotations

import functools
import itertools
import json
from collections import Counter
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
import yaml
from torch.utils.data import DataLoader

from pipeline import prepare
from pipeline.bench.loading import HandWritten, apply_dihedral, dihedral_choices
from pipeline.core.config.load import load_config
from pipeline.core.data import augment, augment_spec
from pipeline.core.data.augment import Augmenter
from pipeline.core.data.augment_spec import (
    PAIRED,
    SCALE_FREE,
    SCAN_ONLY,
    FastD4,
    FastRandomRotate90,
    FastTranspose,
    build_pipeline,
    default_pipeline,
    read_value,
)
from pipeline.core.data.dataset import EpochDraws, PatchDataset
from pipeline.core.data.store import Pair, PairStore, build_store, store_dir
from pipeline.core.train.trainer import FoldTrainer
from pipeline.core.util.distributed import ShardSampler
from pipeline.core.util.errors import UserError
from pipeline.core.util.images import write_png
from tests.conftest import REPO, assert_user_error, make_dataset, paths, run_cli

V = A.__version__
EXAMPLES = REPO / "docs" / "augment"


def serialized(*transforms: dict, p: float = 1.0) -> dict:
    """A pipeline in A.to_dict's form."""
    return {
        "__version__": V,
        "transform": {"__class_fullname__": "Compose", "p": p, "transforms": list(transforms)},
    }


def t(name: str, p: float = 1.0, **args) -> dict:
    return {"__class_fullname__": name, "p": p, **args}


def image(seed: int, side: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)


GEOMETRIC = serialized(
    t("D4"),
    t("Affine", 0.7, rotate=[-10, 10], scale=[0.9, 1.1], border_mode=4),
    t("ElasticTransform", 0.5, alpha=20.0, sigma=5.0),
    t("OneOf", 0.5, transforms=[t("GridDistortion"), t("OpticalDistortion")]),
)
DEGRADE = serialized(
    t("GaussNoise", 1.0, std_range=[0.05, 0.1]),
    t("ImageCompression", 0.7, quality_range=[30, 80]),
    t("ColorJitter", 0.5),
    t("Downscale", 0.5, scale_range=[0.5, 0.8]),
    t("CoarseDropout", 0.3),
)


# -- the serialized form and where it may come from ---------------------------------------
def test_default_is_what_a_to_dict_writes_and_from_dict_reads():
    d = default_pipeline()
    assert d == {
        "__version__": V,
        "transform": {"__class_fullname__": "Compose", "p": 1.0, "transforms": [t("D4")]},
    }
    assert isinstance(A.from_dict(d), A.Compose)  # albumentations reads it as is
    written = A.to_dict(A.Compose([A.D4(p=1.0)]))
    assert written["__version__"] == V
    assert written["transform"]["transforms"] == d["transform"]["transforms"]
    composed, _ = build_pipeline(written, PAIRED)  # and we read what it writes
    assert [type(x) for x in composed.transforms] == [FastD4]


def test_sources_dict_yaml_text_files_and_omegaconf_agree(tmp_path):
    from omegaconf import OmegaConf

    compose = A.Compose([A.HorizontalFlip(p=0.5), A.RandomRotate90(p=1.0)])
    A.save(compose, tmp_path / "p.yaml", data_format="yaml")
    A.save(compose, tmp_path / "p.json", data_format="json")
    as_dict = A.to_dict(compose)
    sources = [
        as_dict,
        yaml.safe_dump(as_dict),
        json.dumps(as_dict),
        str(tmp_path / "p.yaml"),
        str(tmp_path / "p.json"),
        OmegaConf.create(as_dict),
    ]
    key = (0, 3, 17)
    want = None
    for source in sources:
        aug = Augmenter(source)
        out = aug.apply(image(1), image(1), *key)
        want = out if want is None else want
        assert all(np.array_equal(a, b) for a, b in zip(out, want, strict=True)), source
    for empty in (None, "", {}):
        assert read_value(empty, "augment.pipeline") is None


def test_user_pipeline_rebuilds_to_the_same_serialized_form():
    """What we build from a pasted pipeline is the pasted pipeline (A.to_dict of ours equals
    the input, but for the fast D4 class name)."""
    text = (EXAMPLES / "example.yaml").read_text()
    section = yaml.safe_load(text)["augment"]
    for key, role in (("pipeline", PAIRED), ("scan_only", SCAN_ONLY)):
        compose, _ = build_pipeline(section[key], role)
        ours = A.core.serialization.serialize_enum(A.to_dict(compose))["transform"]["transforms"]
        for item in ours:
            item["__class_fullname__"] = item["__class_fullname__"].replace(
                "pipeline.core.data.augment_spec.Fast", ""
            )
        assert json.loads(json.dumps(ours)) == json.loads(
            json.dumps(section[key]["transform"]["transforms"])
        )


def test_example_config_builds_and_bad_one_fails_with_the_documented_line():
    from omegaconf import OmegaConf

    good = OmegaConf.load(EXAMPLES / "example.yaml").augment
    aug = augment.check_config(good, scale=1, patch=64)
    assert aug.paired is not None and aug.scan_only is not None
    assert Augmenter(scan_only=str(EXAMPLES / "scan_degrade.yaml"), patch=64).scan_only is not None
    bad = OmegaConf.load(EXAMPLES / "bad.yaml").augment
    with pytest.raises(UserError) as e:
        augment.check_config(bad, scale=1)
    assert str(e.value) == (
        "augment.scan_only: GaussNoise (transform.transforms[0]): unknown argument 'var_limit'; "
        "GaussNoise takes std_range, mean_range, per_channel, noise_scale_factor, p "
        f"(written by albumentations 1.4.18; this is {V})"
    )


def test_every_stock_transform_serialized_by_a_to_dict_builds_where_it_belongs():
    """A.to_dict writes inherited arguments a class does not take (SafeRotate: balanced_scale);
    they must not be reported as unknown."""
    from albumentations.core.serialization import SERIALIZABLE_REGISTRY

    checked = 0
    for name in augment_spec._usable_names():
        cls = SERIALIZABLE_REGISTRY[name]
        if issubclass(cls, A.BaseCompose) or name in augment_spec.REFUSED:
            continue
        try:
            with _quiet():
                node = A.core.serialization.serialize_enum(cls().to_dict()["transform"])
        except Exception:  # needs arguments, or cannot be serialized (FDA, ...)
            continue
        roles = []
        for role in (PAIRED, SCAN_ONLY):
            try:
                with _quiet():
                    build_pipeline(serialized(node), role)
                roles.append(role)
            except UserError as e:
                assert "unknown argument" not in str(e) and "bad argument" not in str(e), str(e)
        if issubclass(cls, augment_spec.Transform3D):
            assert roles == []
        else:
            assert len(roles) == 1, name  # each transform has exactly one place
        checked += 1
    assert checked > 80


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


# -- the default equals the hand-written dihedral --------------------------------------------
@pytest.mark.parametrize("switches", [(h, v, r) for h in (0, 1) for v in (0, 1) for r in (0, 1)])
def test_default_draws_the_same_dihedral_set_uniformly(switches):
    hflip, vflip, rot90 = map(bool, switches)
    img = image(0, 16)
    expected = {
        apply_dihedral(img, m, k).tobytes() for m, k in dihedral_choices(hflip, vflip, rot90)
    }
    aug = Augmenter(hflip=hflip, vflip=vflip, rot90=rot90)
    counts = Counter(aug.apply(img, img, 7, 0, draw)[0].tobytes() for draw in range(4000))
    assert set(counts) == expected
    n = len(expected)
    for c in counts.values():  # uniform: each within 5 standard deviations
        assert abs(c - 4000 / n) < 5 * np.sqrt(4000 * (1 / n) * (1 - 1 / n)) + 1


@pytest.mark.parametrize(
    "stock,fast",
    [(A.D4, FastD4), (A.RandomRotate90, FastRandomRotate90), (A.Transpose, FastTranspose)],
)
@pytest.mark.parametrize("shape", [(24, 24, 3), (20, 28, 3), (16, 16, 4), (16, 16), (16, 16, 1)])
def test_fast_dihedral_classes_equal_the_stock_ones_bit_for_bit(stock, fast, shape):
    if stock is A.D4 and shape[0] != shape[1]:
        pytest.skip("D4 is for square images")
    img = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    a, b = stock(p=1.0), fast(p=1.0)
    a.set_random_seed(5)
    b.set_random_seed(5)
    for _ in range(40):
        x, y = a(image=img)["image"], b(image=img)["image"]
        assert x.shape == y.shape and np.array_equal(x, y)
        assert y.flags.c_contiguous


# -- geometric identical, scan-only apart ----------------------------------------------------
def test_geometric_pipeline_transforms_scan_and_clean_identically():
    aug = Augmenter(GEOMETRIC, patch=32)
    img = image(3)
    changed = 0
    for draw in range(60):
        scan, clean = aug.apply(img, img.copy(), 1, 2, draw)
        assert np.array_equal(scan, clean)
        changed += not np.array_equal(scan, img)
    assert changed > 40


def test_scan_only_never_touches_clean_nor_changes_the_geometry():
    geometric_only = Augmenter(GEOMETRIC)
    both = Augmenter(GEOMETRIC, DEGRADE, patch=32)
    scan_in, clean_in = image(4), image(5)
    before = scan_in.copy(), clean_in.copy()
    for draw in range(40):
        ref_scan, ref_clean = geometric_only.apply(scan_in, clean_in, 0, 1, draw)
        scan, clean = both.apply(scan_in, clean_in, 0, 1, draw)
        assert np.array_equal(clean, ref_clean)  # the clean target: geometry only
        assert not np.array_equal(scan, ref_scan)  # GaussNoise p=1: the scan is degraded
    assert np.array_equal(scan_in, before[0]) and np.array_equal(clean_in, before[1])  # inputs kept


def test_scan_only_pipeline_is_called_with_the_scan_alone(monkeypatch):
    """Whatever the scan-only Compose holds, the clean image is never passed to it."""
    aug = Augmenter(GEOMETRIC, DEGRADE)
    seen = []
    real = A.Compose.__call__

    def spy(self, *args, **data):
        if self is aug.scan_only:
            seen.append(sorted(data))
        return real(self, *args, **data)

    monkeypatch.setattr(A.Compose, "__call__", spy)
    for draw in range(5):
        aug.apply(image(0), image(1), 0, 0, draw)
    assert seen == [["image"]] * 5


# -- randomness: (seed, epoch, draw) and nothing else ----------------------------------------
def test_same_key_same_result_other_keys_differ():
    aug = Augmenter(GEOMETRIC, DEGRADE)
    img = image(6)
    a = aug.apply(img, img, 3, 4, 5)
    for _ in range(3):
        aug.apply(img, img, 9, 9, 9)  # whatever ran in between
        b = aug.apply(img, img, 3, 4, 5)
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    others = [aug.apply(img, img, *key)[0] for key in ((4, 4, 5), (3, 5, 5), (3, 4, 6))]
    assert all(not np.array_equal(a[0], o) for o in others)


def test_stream_words_are_well_spread():
    for part in range(3):
        words = [augment.stream_words(0, 0, d, 0)[part] for d in range(20000)]
        assert len(set(words)) == 20000
        bits = np.array([[(w >> i) & 1 for i in range(64)] for w in words[:4000]])
        assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.04)  # 5 standard deviations
        # neighbouring draws share no bits beyond chance
        flips = np.array([bin(a ^ b).count("1") for a, b in itertools.pairwise(words)])
        assert abs(flips.mean() - 32) < 0.5
    keys = {
        augment.stream_words(s, e, d, st)[0]
        for s in range(3)
        for e in range(3)
        for d in range(50)
        for st in range(4)
    }
    assert len(keys) == 3 * 3 * 50 * 4


def test_keyed_random_is_a_function_of_the_key():
    k = augment.KeyedRandom(PAIRED)
    a = (k.reseed(1, 2, 3).integers(1 << 62, size=4).tolist(), k.py.random())
    k.reseed(1, 9, 3)  # another epoch in between (the prefix cache)
    b = (k.reseed(1, 2, 3).integers(1 << 62, size=4).tolist(), k.py.random())
    other = augment.KeyedRandom(SCAN_ONLY).reseed(1, 2, 3).integers(1 << 62, size=4).tolist()
    assert a == b and other != a[0]


def make_store(
    root: Path, n: int = 4, side: int = 64, patch: int = 32, scale: int = 1
) -> PairStore:
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n):
        clean = rng.integers(0, 256, (side * scale, side * scale, 3), dtype=np.uint8)
        scan = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        if scale > 1:  # HR = LR with each pixel an s x s block: LR = HR[::s, ::s] iff aligned
            clean = np.repeat(np.repeat(scan, scale, 0), scale, 1)
        paths = root / "scan" / f"T.{i:03d}.png", root / "clean" / f"T.{i:03d}.png"
        write_png(paths[0], scan)
        write_png(paths[1], clean)
        pairs.append(Pair(paths[0].stem, paths[0], paths[1], side, side))
    settings = {"patch_size": patch, "stride": patch // 2, "folds": 1, "scale": scale}
    stems = {p.stem: 0 for p in pairs}
    build_store(
        root / "store",
        pairs,
        stems,
        {s: "T" for s in stems},
        patch,
        patch // 2,
        settings,
        workers=1,
    )
    return PairStore(root / "store")


def epoch_samples(dataset, epoch: int, samples: int, workers: int, rank: int = 0, world: int = 1):
    sampler = ShardSampler(EpochDraws(len(dataset), samples, 11, epoch), rank, world)
    loader = DataLoader(dataset, batch_size=4, sampler=sampler, num_workers=workers)
    return [torch.cat([s.flatten(1), c.flatten(1)], 1) for s, c in loader]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"))


def test_same_samples_for_any_number_of_workers_and_processes(store):
    dataset = PatchDataset(
        store, store.patches, 32, Augmenter(GEOMETRIC, DEGRADE), seed=5, jitter=8
    )
    samples = 2 * len(store.patches) + 4  # more draws than patches: repeats
    one = torch.cat(epoch_samples(dataset, 1, samples, workers=0))
    two = torch.cat(epoch_samples(dataset, 1, samples, workers=2))
    assert torch.equal(one, two)
    ranks = [torch.cat(epoch_samples(dataset, 1, samples, 0, rank=r, world=2)) for r in range(2)]
    interleaved = torch.stack(ranks, 1).reshape(-1, one.shape[1])  # rank r has draws r, r+2, ...
    assert torch.equal(interleaved, one[: len(interleaved)])
    assert not torch.equal(one, torch.cat(epoch_samples(dataset, 2, samples, workers=0)))


def test_repeats_of_a_patch_in_one_epoch_differ(store):
    n = len(store.patches)
    draws = list(range(3 * n))
    index = [d % n for d in draws]  # every patch drawn three times
    new = PatchDataset(store, store.patches, 32, Augmenter(), seed=0, jitter=0)
    old = HandWritten(store, store.patches, 32, seed=0, jitter=0)
    same_new = same_old = 0
    for d in range(n, 3 * n):
        a, b = new[(0, d, index[d])], new[(0, d - n, index[d])]
        same_new += all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
        # keyed by the dataset index as the hand-written loader once was: repeats are copies
        by_index = [old[(0, i, i)] for i in (index[d], index[d - n])]
        same_old += all(torch.equal(x, y) for x, y in zip(*by_index, strict=True))
    assert same_old == 2 * n
    assert same_new < 0.4 * 2 * n  # D4 alone repeats 1 in 8 (no jitter, no degradation here)
    with_noise = PatchDataset(store, store.patches, 32, Augmenter(None, DEGRADE), jitter=8)
    assert not torch.equal(with_noise[(0, 0, 1)][0], with_noise[(0, n, 1)][0])


# -- super-resolution ------------------------------------------------------------------------
SR_PIPELINES = [
    None,  # the default D4
    serialized(*(t(name, 0.5) for name in SCALE_FREE)),
    serialized(
        t("OneOf", 0.9, transforms=[t("Transpose"), t("RandomRotate90")]),
        t(
            "SomeOf",
            1.0,
            n=2,
            transforms=[t("HorizontalFlip"), t("VerticalFlip"), t("SquareSymmetry")],
        ),
        t("Sequential", 0.5, transforms=[t("D4"), t("VerticalFlip", 0.5)]),
    ),
]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("pipeline", SR_PIPELINES)
def test_sr_lr_and_hr_stay_aligned_at_the_scale(scale, pipeline):
    aug = Augmenter(pipeline, DEGRADE_SR, scale=scale, patch=16)
    lr = np.random.default_rng(scale).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    # HR: each LR pixel an s x s block. Aligned at the scale iff LR = HR[::s, ::s] (an HR
    # misplaced by any number of HR pixels samples a neighbouring block somewhere).
    hr = np.repeat(np.repeat(lr, scale, 0), scale, 1)
    plain = Augmenter(pipeline, scale=scale)
    moved = 0
    for draw in range(64):
        lr_out, hr_out = plain.apply(lr, hr, 0, 0, draw)
        assert lr_out.shape == lr.shape and hr_out.shape == hr.shape
        assert np.array_equal(lr_out, hr_out[::scale, ::scale])
        moved += not np.array_equal(hr_out, hr)
        _, hr_deg = aug.apply(lr, hr, 0, 0, draw)
        assert np.array_equal(hr_deg, hr_out)  # scan_only never reaches HR
    assert moved > 16


DEGRADE_SR = serialized(t("GaussNoise", 1.0, std_range=[0.05, 0.1]), t("ImageCompression", 0.5))


def test_sr_dataset_patches_stay_aligned(tmp_path):
    s = 2
    store = make_store(tmp_path, n=2, side=32, patch=16, scale=s)
    dataset = PatchDataset(store, store.patches, 16, Augmenter(scale=s, patch=16), jitter=4)
    for draw in range(40):
        scan, clean = dataset[(0, draw, draw % len(store.patches))]
        assert clean.shape[-1] == s * scan.shape[-1]
        assert torch.equal(scan, clean[:, ::s, ::s])


@pytest.mark.parametrize(
    "name,args",
    [
        ("Affine", {"rotate": [-5, 5]}),
        ("RandomCrop", {"height": 8, "width": 8}),
        ("ElasticTransform", {}),
    ],
)
def test_sr_refuses_transforms_that_depend_on_the_size_naming_them(name, args):
    with pytest.raises(UserError) as e:
        Augmenter(serialized(t("D4"), t(name, 0.5, **args)), scale=2)
    message = str(e.value)
    assert message.startswith(
        f"augment.pipeline: {name} (transform.transforms[1]): cannot keep LR and HR aligned at task.scale=2"
    )
    Augmenter(serialized(t("D4"), t(name, 0.5, **args)), scale=1)  # fine without SR


# -- config errors: one line, naming the transform and the argument --------------------------
ERRORS = [
    (
        dict(pipeline=serialized(t("HorizontalFlipp", 0.5))),
        "augment.pipeline: transform.transforms[0]: unknown transform 'HorizontalFlipp' (did you mean HorizontalFlip?)",
    ),
    (
        dict(scan_only=serialized(t("OneOf", 0.5, transforms=[t("Blurr")]))),
        "augment.scan_only: transform.transforms[0].transforms[0]: unknown transform 'Blurr' (did you mean Blur?)",
    ),
    (
        dict(scan_only=serialized(t("GaussNoise", 0.5, sigma=3))),
        "augment.scan_only: GaussNoise (transform.transforms[0]): unknown argument 'sigma'; GaussNoise takes std_range, mean_range, per_channel, noise_scale_factor, p",
    ),
    (
        dict(scan_only=serialized(t("ImageCompression", 0.5, quality_range=[0, 200]))),
        "augment.scan_only: ImageCompression (transform.transforms[0]): bad argument 'quality_range' (got [0, 200]): Value error, All values in (0, 200) must be >= 1 and <= 100",
    ),
    (
        dict(scan_only=serialized(t("GaussNoise", 0.5, std_range="abc"))),
        "augment.scan_only: GaussNoise (transform.transforms[0]): bad argument 'std_range' (got 'abc'): Input should be a valid tuple",
    ),
    (
        dict(pipeline=serialized(t("HorizontalFlip", 2))),
        "augment.pipeline: HorizontalFlip (transform.transforms[0]): bad argument 'p' (got 2): Input should be less than or equal to 1",
    ),
    (
        dict(pipeline=serialized({"__class_fullname__": "D4"})),
        "augment.pipeline: D4 (transform.transforms[0]): no 'p'",
    ),
    (
        dict(pipeline=serialized(t("D4"), t("GaussNoise", 0.5))),
        "augment.pipeline: GaussNoise (transform.transforms[1]): is photometric (an ImageOnlyTransform)",
    ),
    (
        dict(pipeline=serialized(t("CoarseDropout", 0.5))),
        "augment.pipeline: CoarseDropout (transform.transforms[0]): degrades pixels in place",
    ),
    (
        dict(scan_only=serialized(t("Affine", 0.5))),
        "augment.scan_only: Affine (transform.transforms[0]): is geometric (a DualTransform)",
    ),
    (
        dict(scan_only=serialized(t("Normalize"))),
        "augment.scan_only: Normalize (transform.transforms[0]): not allowed",
    ),
    (
        dict(scan_only=serialized(t("Lambda"))),
        "augment.scan_only: Lambda (transform.transforms[0]): not allowed",
    ),
    (
        dict(pipeline=serialized(t("HorizontalFlip", always_apply=True))),
        "augment.pipeline: HorizontalFlip (transform.transforms[0]): unknown argument 'always_apply' (removed in albumentations 2.0",
    ),
    (
        dict(pipeline=t("D4")),
        "augment.pipeline: expected what A.to_dict writes, a mapping with __version__ and transform (this looks like one transform",
    ),
    (dict(pipeline="transform: [unclosed"), "augment.pipeline: text is not valid YAML/JSON"),
    (
        dict(pipeline="no/such/file.yaml"),
        "augment.pipeline: pipeline file no/such/file.yaml not found",
    ),
    (
        dict(pipeline=serialized(t("D4")), rot90=False),
        "augment.rot90: the switches only shape the default pipeline",
    ),
    (
        dict(
            pipeline={
                "__version__": V,
                "transform": {
                    "__class_fullname__": "Compose",
                    "p": 1.0,
                    "seed": 1,
                    "transforms": [],
                },
            }
        ),
        "augment.pipeline: Compose (transform): 'seed' is not used here",
    ),
    (
        dict(pipeline=serialized(t("Resize", height=16, width=16)), patch=32),
        "augment.pipeline: turns a 32x32x3 uint8 patch into 16x16x3 uint8",
    ),
    (
        dict(scan_only=serialized(t("ToGray", num_output_channels=1)), patch=32),
        "augment.scan_only: turns a 32x32x3 uint8 patch into 32x32",
    ),
]


@pytest.mark.parametrize("kwargs,start", ERRORS, ids=[e[1].split(":")[1][:40] for e in ERRORS])
def test_config_errors_are_one_line_naming_the_transform(kwargs, start):
    with pytest.raises(UserError) as e:
        Augmenter(**kwargs)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(start), message


def test_deprecation_warnings_pass_as_one_line_warnings():
    with pytest.warns(
        UserWarning,
        match=r"^augment.pipeline: ShiftScaleRotate \(transform.transforms\[0\]\): ShiftScaleRotate is a special case of Affine",
    ):
        Augmenter(serialized(t("ShiftScaleRotate", 0.5)))


# -- why the seeding is done the way it is ---------------------------------------------------
def test_stock_compose_seed_correlates_transforms_which_keyed_random_does_not():
    """albumentations 2.0.8: Compose(seed=s) / set_random_seed(s) give every transform its own
    random.Random(s), so HorizontalFlip(0.5) and VerticalFlip(0.5) flip together or not at
    all: half the dihedral set is never drawn. A shared generator (set_random_state, what
    Augmenter does) draws all four."""
    img = image(0, 4)
    outcomes = {"h": img[:, ::-1], "v": img[::-1], "e": img, "hv": img[::-1, ::-1]}

    def seen(outs):
        return {k for out in outs for k, ref in outcomes.items() if np.array_equal(out, ref)}

    stock = A.Compose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)], seed=7)
    assert seen(stock(image=img)["image"] for _ in range(200)) == {"e", "hv"}
    ours = Augmenter(hflip=True, vflip=True, rot90=False)
    assert seen(ours.apply(img, img, 7, 0, d)[0] for d in range(200)) == {"e", "h", "v", "hv"}


def test_augmenter_pickles_for_spawned_workers():
    import pickle

    aug = Augmenter(GEOMETRIC, DEGRADE)
    copy = pickle.loads(pickle.dumps(aug))
    a, b = aug.apply(image(1), image(2), 1, 2, 3), copy.apply(image(1), image(2), 1, 2, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_a_bad_pipeline_in_a_config_stops_a_stage_with_one_line_before_any_work(tmp_path):
    result = run_cli("pipeline.train", "--config", str(EXAMPLES / "bad.yaml"), f"runs={tmp_path}")
    assert_user_error(result, "augment.scan_only: GaussNoise", "unknown argument 'var_limit'")
    assert not any(tmp_path.iterdir())


def test_the_trainer_augments_with_the_configs_pipelines(tmp_path):
    root = make_dataset(tmp_path / "data", pages=1, size=(40, 40))
    o = [*paths(tmp_path, root), "prepare.patch_size=32", "prepare.stride=8", "model.name=srcnn"]
    assert prepare.main(o) == 0
    cfg = load_config(EXAMPLES / "example.yaml", o)
    store = PairStore(store_dir(cfg))
    trainer = FoldTrainer(cfg, store, 0, torch.device("cpu"))
    aug = trainer.dataset.augmenter
    assert [type(x).__name__ for x in aug.paired.transforms] == ["FastD4", "Affine"]
    assert [type(x).__name__ for x in aug.scan_only.transforms] == [
        "OneOf",
        "OneOf",
        "ColorJitter",
        "Downscale",
        "ImageCompression",
    ]
    # and the default, without them: the flips and quarter turns
    plain = FoldTrainer(load_config(None, o), store, 0, torch.device("cpu"))
    assert [type(x).__name__ for x in plain.dataset.augmenter.paired.transforms] == ["FastD4"]
    assert plain.dataset.augmenter.scan_only is None


def test_scan_only_with_a_page_model_degrades_the_whole_page_the_patch_and_its_description(
    store,
):
    """A page model (pagenet) sees a patch cut from the degraded page and the description of
    that same degraded page, so the two agree; clean is never touched."""
    from pipeline.core.models.pagenet import page_descriptor

    describe = functools.partial(page_descriptor, thumb=16, bins=8)
    noise = serialized(
        t("GaussNoise", std_range=[0.1, 0.2]), t("ColorJitter", brightness=[0.5, 0.6])
    )
    aug = Augmenter(scan_only=noise, hflip=False, vflip=False, rot90=False)
    dataset = PatchDataset(store, store.patch_rows([0]), 32, aug, seed=3, describe=describe)
    for draw, row in ((0, 0), (5, 3)):
        scan, clean, *description = dataset[(1, draw, row)]
        image, y, x = (int(v) for v in store.patches[row])
        page = aug.page(np.asarray(store.scan(image)), 3, 1, draw)
        assert not np.array_equal(page, np.asarray(store.scan(image)))
        assert np.array_equal(scan.numpy().transpose(1, 2, 0), page[y : y + 32, x : x + 32])
        assert np.array_equal(
            clean.numpy().transpose(1, 2, 0), store.clean(image)[y : y + 32, x : x + 32]
        )
        for got, want in zip(description, describe(page), strict=True):
            assert np.array_equal(got.numpy(), want)


def test_the_docs_scan_only_example_trains_the_default_model(tmp_path):
    """docs/augment.md's example, augment.scan_only=docs/augment/scan_degrade.yaml, on the
    default config's model (pagenet) trains, where it was refused."""
    root = make_dataset(tmp_path / "data", titles=("A", "B", "C"), pages=2, size=(48, 64))
    o = [
        *paths(tmp_path, root),
        "prepare.patch_size=32",
        "prepare.stride=16",
        "train.fold=0",
        "train.epochs=1",
        "train.batch_size=4",
        "infer.tile=64",
        "infer.overlap=16",
        "augment.scan_only=docs/augment/scan_degrade.yaml",
    ]
    assert load_config(None, o).model.name == "pagenet"
    assert prepare.main(o) == 0
    result = run_cli("pipeline.train", *o)
    assert result.code == 0, result.err
    assert "fold 0: final weights (epoch 1)" in result.out
