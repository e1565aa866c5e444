"""Training augmentation as albumentations pipelines, in albumentations' own serialized form.

Two pipelines, each what `A.to_dict(...)` writes (a mapping with `__version__` and `transform`),
given as a mapping in the config, as YAML/JSON text, or as the path of a .yaml/.yml/.json file:

  augment.pipeline   geometric transforms (albumentations DualTransforms: flips, quarter turns,
                     Affine, ElasticTransform, ...). One call transforms scan and clean
                     identically (`additional_targets={"clean": "image"}`).
  augment.scan_only  photometric degradations (ImageOnlyTransforms: ImageCompression, GaussNoise,
                     ColorJitter, Downscale, ...) and hole-punching dropouts. The scan only: the
                     clean target is never passed to it.

Empty `augment.pipeline`: the default, built from the augment.hflip / vflip / rot90 switches
(all on: D4, the 8 flips and quarter turns drawn uniformly, as the hand-written flips this
replaced did; bench/loading.py keeps those for the loader's speed comparison).

Randomness of one sample is a function of (seed, epoch, draw) and nothing else: before each call
both pipelines get fresh generators seeded from that key (one stream each, so adding a scan-only
degradation does not change the geometry). `draw` is the sample's position in the epoch's global
draw sequence (before sharding over processes), so it does not depend on the number of DataLoader
workers or processes, and a patch drawn twice in one epoch is augmented differently.

Super-resolution (scale > 1: scan is LR, clean is HR = scale x LR): LR and HR are transformed in
two calls with the same generators. That keeps them aligned only for transforms whose effect and
random draws do not depend on the image size (augment_spec.SCALE_FREE: flips, quarter turns,
transposes); any other transform in augment.pipeline is refused with an error naming it.

Every mistake in a pipeline is a UserError of one line: `augment.pipeline: <where>: <what>`,
naming the transform (with its position) and, where it is one, the argument. Reading, checking
and building the pipelines is augment_spec.py; this module applies them to samples.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..util.errors import UserError
from .augment_spec import KEYS, PAIRED, SCAN_ONLY, build_pipeline, default_pipeline, read_value

# the streams a dataset draws its patch positions and synthetic scans from
POSITION, SYNTHETIC = 2, 3


# -- the random key --------------------------------------------------------------------------
_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finalizer: a bijection on 64-bit words that scatters every input bit."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def stream_words(seed: int, epoch: int, draw: int, stream: int) -> tuple[int, int, int]:
    """(key hash, low half of the generator state, random.Random seed): well-mixed 64-bit
    words, a function of the key alone and stable across Python and numpy versions."""
    return _key_words(_mix(_mix(int(seed) & _M64) ^ (int(epoch) & _M64)), draw, stream)


def _key_words(prefix: int, draw: int, stream: int) -> tuple[int, int, int]:
    h = _mix(_mix(prefix ^ (int(draw) & _M64)) ^ stream)
    return h, _mix(h ^ 1), _mix(h ^ 2)


class KeyedRandom:
    """A numpy Generator and a random.Random of one stream, reseeded from (seed, epoch, draw)
    before every call, in ~10 us (numpy's default_rng([seed, epoch, draw]) takes 15-30 us and
    Compose.set_random_seed ~50 us).

    albumentations transforms draw from both (`random_generator`, `py_random`);
    Compose.set_random_state hands the pair to every transform in the tree, so the transforms
    of one call share one stream. (Compose(seed=s) / set_random_seed(s) instead give every
    transform its own random.Random(s): their draws are equal, e.g. HorizontalFlip(p=0.5) and
    VerticalFlip(p=0.5) flip together or not at all.)

    The PCG64 state is the key's 128-bit hash; the increment is fixed by the stream, so the
    draws of one stream are disjoint stretches of one 2**128-long sequence. The objects are
    reused between calls: one KeyedRandom per stream and process (DataLoader workers are
    processes), not to be shared between threads."""

    def __init__(self, stream: int) -> None:
        self.stream = int(stream)
        self.bit_generator = np.random.PCG64(0)
        self.np = np.random.Generator(self.bit_generator)
        self.py = random.Random(0)
        self._inc = (_mix(self.stream ^ 0x5851F42D4C957F2D) << 1) | 1
        self._prefix_of: tuple[int, int] | None = None
        self._prefix = 0

    def reseed(self, seed: int, epoch: int, draw: int) -> np.random.Generator:
        if self._prefix_of != (seed, epoch):  # one (seed, epoch) for a whole epoch
            self._prefix = _mix(_mix(int(seed) & _M64) ^ (int(epoch) & _M64))
            self._prefix_of = (seed, epoch)
        h, low, py_seed = _key_words(self._prefix, draw, self.stream)
        self.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": (h << 64) | low, "inc": self._inc},
            "has_uint32": 0,
            "uinteger": 0,
        }
        self.py.seed(py_seed)
        return self.np


# -- the augmenter ---------------------------------------------------------------------------
class Augmenter:
    """The two pipelines of a config, checked, with `apply` for one sample.

    Picklable (DataLoader workers may be spawned) and stateless between calls: each call
    reseeds from its key."""

    def __init__(
        self,
        pipeline: Any = None,
        scan_only: Any = None,
        scale: int = 1,
        hflip: bool = True,
        vflip: bool = True,
        rot90: bool = True,
        patch: int | None = None,
    ):
        serialized = read_value(pipeline, KEYS[PAIRED])
        if serialized is not None and not (hflip and vflip and rot90):
            off = [n for n, on in (("hflip", hflip), ("vflip", vflip), ("rot90", rot90)) if not on]
            raise UserError(
                f"augment.{off[0]}: the switches only shape the default pipeline; with "
                "augment.pipeline set, put the flips you want in it"
            )
        if serialized is None:
            serialized = default_pipeline(hflip, vflip, rot90)
        self.scale = int(scale)
        self.paired, self.paired_dict = build_pipeline(serialized, PAIRED, self.scale)
        self.scan_only, self.scan_only_dict = build_pipeline(
            read_value(scan_only, KEYS[SCAN_ONLY]), SCAN_ONLY, self.scale
        )
        self._paired_rng = KeyedRandom(PAIRED)
        self._scan_rng = KeyedRandom(SCAN_ONLY)
        if patch is not None:
            self.probe(patch)

    def apply(
        self,
        scan: np.ndarray,
        clean: np.ndarray,
        seed: int,
        epoch: int,
        draw: int,
        scale: int | None = None,
        scan_only: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scan, clean) HWC uint8 -> augmented (scan, clean), HWC uint8 and C-contiguous. For
        super-resolution clean is `scale` times scan a side. The result may be the inputs
        themselves when nothing was applied (an empty pipeline). scan_only=False leaves the
        scan-only pipeline out (a page model's dataset applied it to the whole page, page())."""
        if scale is not None and int(scale) != self.scale:
            raise ValueError(f"this Augmenter was checked for scale {self.scale}, not {scale}")
        if self.paired is not None:
            scan, clean = self._paired(scan, clean, seed, epoch, draw)
        if self.scan_only is not None and scan_only:
            scan = self._scan_only(scan, seed, epoch, draw)
        return scan, clean

    def page(self, scan: np.ndarray, seed: int, epoch: int, draw: int) -> np.ndarray:
        """The scan-only pipeline on a whole scanned page (the same draws as on a patch), for
        a model that restores by its page: the patch is cut from the degraded page and the
        page's description computed from it, so the two agree."""
        if self.scan_only is None:
            return scan
        return self._scan_only(np.ascontiguousarray(scan), seed, epoch, draw)

    def _paired(
        self, scan: np.ndarray, clean: np.ndarray, seed: int, epoch: int, draw: int
    ) -> tuple[np.ndarray, np.ndarray]:
        rng, compose = self._paired_rng, self.paired
        rng.reseed(seed, epoch, draw)
        compose.set_random_state(rng.np, rng.py)  # type: ignore[union-attr]
        if self.scale == 1:
            out = compose(image=scan, clean=clean)  # type: ignore[misc]
            return out["image"], out["clean"]
        # Super-resolution: LR and HR have different sizes, so one call cannot take both; two
        # calls from the same generator state make the same draws (SCALE_FREE transforms only).
        scan = compose(image=scan)["image"]  # type: ignore[misc]
        rng.reseed(seed, epoch, draw)  # the same draws for HR as for LR
        return scan, compose(image=clean)["image"]  # type: ignore[misc]

    def _scan_only(self, scan: np.ndarray, seed: int, epoch: int, draw: int) -> np.ndarray:
        rng = self._scan_rng
        rng.reseed(seed, epoch, draw)
        self.scan_only.set_random_state(rng.np, rng.py)  # type: ignore[union-attr]
        return self.scan_only(image=scan)["image"]  # type: ignore[misc]

    def probe(self, patch: int, draws: int = 16) -> None:
        """Run both pipelines on random patches of the training size, so a pipeline that fails,
        or changes the patch size or the dtype, is a config error now rather than a traceback
        from a DataLoader worker later."""
        gen = np.random.default_rng(0)
        lr = gen.integers(0, 256, (patch, patch, 3), dtype=np.uint8)
        hr = gen.integers(0, 256, (patch * self.scale, patch * self.scale, 3), dtype=np.uint8)
        size = f"a {patch}x{patch} patch"
        for draw in range(draws):
            if self.paired is not None:
                out = _probe_call(KEYS[PAIRED], size, self._paired, lr, hr, 0, 0, draw)
                _probe_check(KEYS[PAIRED], out, (lr, hr))
            if self.scan_only is not None:
                out = _probe_call(KEYS[SCAN_ONLY], size, self._scan_only, lr, 0, 0, draw)
                _probe_check(KEYS[SCAN_ONLY], (out,), (lr,))


def _probe_call(key: str, size: str, call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{key}: fails on {size}: {type(e).__name__}: {first}") from None


def _probe_check(key: str, got: tuple[Any, ...], want: tuple[np.ndarray, ...]) -> None:
    for g, w in zip(got, want, strict=True):
        if not isinstance(g, np.ndarray) or g.shape != w.shape or g.dtype != np.uint8:
            shape = "x".join(map(str, getattr(g, "shape", ()))) or type(g).__name__
            raise UserError(
                f"{key}: turns a {w.shape[0]}x{w.shape[1]}x{w.shape[2]} uint8 patch into "
                f"{shape} {getattr(g, 'dtype', '')}; a pipeline must keep the patch size and "
                "uint8 (the patch size is prepare.patch_size)"
            )


def check_config(augment_cfg: Any, scale: int, patch: int | None = None) -> Augmenter:
    """What config.validate would call: builds (and so checks) the pipelines of an `augment`
    config section; `patch` also runs the probe."""
    get = (
        augment_cfg.get if isinstance(augment_cfg, Mapping) or hasattr(augment_cfg, "get") else None
    )
    value = (lambda k, d=None: get(k, d)) if get else (lambda k, d=None: getattr(augment_cfg, k, d))
    return Augmenter(
        value("pipeline"),
        value("scan_only"),
        scale,
        bool(value("hflip", True)),
        bool(value("vflip", True)),
        bool(value("rot90", True)),
        patch,
    )
