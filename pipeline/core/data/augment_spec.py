"""What an albumentations pipeline in the config may hold, and building it: augment.pipeline
and augment.scan_only read from albumentations' serialized form, checked transform by
transform against this pipeline's rules (geometric transforms in the paired pipeline,
photometric ones in the scan-only one, only scale-free ones for super-resolution), and built
with the fast OpenCV-backed dihedral transforms in place of the stock ones.

Applying them to samples, with keyed randomness, is augment.py's `Augmenter`.
"""

from __future__ import annotations

import difflib
import inspect
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import yaml
from albumentations.augmentations.dropout.transforms import BaseDropout
from albumentations.augmentations.geometric.flip import d4_group_elements
from albumentations.core.composition import BaseCompose
from albumentations.core.serialization import (
    NON_SERIALIZABLE_REGISTRY,
    SERIALIZABLE_REGISTRY,
    shorten_class_name,
)
from albumentations.core.transforms_interface import (
    BasicTransform,
    DualTransform,
    ImageOnlyTransform,
    Transform3D,
)
from omegaconf import DictConfig, ListConfig, OmegaConf

from ..util.errors import UserError

# -- what may go where -----------------------------------------------------------------------

# Containers whose randomness is their own choice among children (never the image size).
COMPOSITIONS = ("Compose", "Sequential", "OneOf", "SomeOf", "RandomOrder", "OneOrOther")

# Geometric transforms whose result and random draws do not depend on the image size: applied
# to LR and HR with the same generators, they keep HR = scale x LR aligned pixel for pixel.
SCALE_FREE = (
    "HorizontalFlip",
    "VerticalFlip",
    "RandomRotate90",
    "Transpose",
    "D4",
    "SquareSymmetry",
    "NoOp",
)

# DualTransforms that leave every pixel where it is (holes, ink spread): degradations of the
# scan, allowed in scan_only; in the paired pipeline they would damage the target as well.
# (BaseDropout: CoarseDropout, Erasing, GridDropout, XYMasking and its Time/FrequencyMasking.)
PIXEL_ALIGNED_DUAL = (BaseDropout, A.PixelDropout, A.Morphological)

# Transforms that cannot work here, with the reason.
REFUSED = {
    "Normalize": "the trainer scales uint8 images itself; a pipeline must return uint8",
    "ToFloat": "a pipeline must return uint8 images",
    "FromFloat": "a pipeline must return uint8 images",
    "ToTensorV2": "the dataset makes the tensors; a pipeline must return HWC uint8 arrays",
    "ToTensor3D": "the dataset makes the tensors; a pipeline must return HWC uint8 arrays",
    "ReplayCompose": "use Compose (randomness comes from the seed, epoch and draw)",
    "SelectiveChannelTransform": "not supported in augment pipelines",
    "Lambda": "a Lambda holds Python code and cannot be loaded from a config",
    # These need targets beyond the two images (boxes, masks, reference images, text).
    **{
        name: "it needs targets other than the image (masks, boxes or reference images)"
        for name in (
            "AtLeastOneBBoxRandomCrop",
            "BBoxSafeRandomCrop",
            "RandomCropNearBBox",
            "RandomSizedBBoxSafeCrop",
            "CropNonEmptyMaskIfExists",
            "MaskDropout",
            "ConstrainedCoarseDropout",
            "OverlayElements",
            "Mosaic",
            "FDA",
            "HistogramMatching",
            "PixelDistributionAdaptation",
            "TextImage",
        )
    },
}

# Compose arguments about how its caller calls it, not about the transforms: dropped.
COMPOSE_CALL_ARGS = (
    "bbox_params",
    "keypoint_params",
    "additional_targets",
    "is_check_shapes",
    "strict",
    "mask_interpolation",
    "save_applied_params",
    "seed",
)

PAIRED, SCAN_ONLY = 0, 1  # random streams; also which pipeline a node is checked for
KEYS = {PAIRED: "augment.pipeline", SCAN_ONLY: "augment.scan_only"}


# -- fast dihedral transforms ----------------------------------------------------------------
# albumentations turns images with np.rot90 / np.transpose and then copies the view into a
# contiguous array (ensure_contiguous_output). For HWC uint8 that copy walks 3-byte pixels
# through non-unit strides: ~0.2 ms for a 128 patch, ~1 ms for 256, per image; the stock D4
# halves the loader's throughput (bench_augment.py). OpenCV's rotate / transpose / flip give
# the identical array in 5-60 us. These subclasses change `apply` only (and D4's draw: the
# same stream without numpy's choice() overhead); the draws, probabilities and results are the
# stock ones (the tests check them bit for bit against albumentations).

_ROTATE = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


def _cv2_ok(img: np.ndarray) -> bool:
    return img.ndim == 3 and img.shape[2] in (3, 4) and img.dtype in (np.uint8, np.float32)


def _rot90(img: np.ndarray, factor: int) -> np.ndarray:
    factor %= 4
    return img if factor == 0 else cv2.rotate(img, _ROTATE[factor])


def _d4(img: np.ndarray, element: str) -> np.ndarray:
    if element == "e":
        return img
    if element == "r90":
        return cv2.rotate(img, _ROTATE[1])
    if element == "r180":
        return cv2.rotate(img, _ROTATE[2])
    if element == "r270":
        return cv2.rotate(img, _ROTATE[3])
    if element == "v":
        return cv2.flip(img, 0)
    if element == "h":
        return cv2.flip(img, 1)
    if element == "t":
        return cv2.transpose(img)
    if element == "hvt":  # transpose of the half turn: reflection in the anti-diagonal
        return cv2.flip(cv2.transpose(img), -1)
    raise ValueError(f"Invalid group member: {element}")


class FastRandomRotate90(A.RandomRotate90):
    def apply(self, img: np.ndarray, factor: int, **params: Any) -> np.ndarray:
        return _rot90(img, factor) if _cv2_ok(img) else super().apply(img, factor, **params)


class FastTranspose(A.Transpose):
    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return cv2.transpose(img) if _cv2_ok(img) else super().apply(img, **params)


class _FastD4Mixin:
    def apply(self, img: np.ndarray, group_element: str, **params: Any) -> np.ndarray:
        if _cv2_ok(img):
            return _d4(img, str(group_element))
        return super().apply(img, group_element, **params)  # type: ignore[misc]

    def get_params(self) -> dict[str, str]:
        # Generator.choice over 8 items without weights draws integers(0, 8): the same stream
        # and the same element as the stock D4, for a tenth of the time.
        return {"group_element": d4_group_elements[int(self.random_generator.integers(8))]}


class FastD4(_FastD4Mixin, A.D4):
    pass


class FastSquareSymmetry(_FastD4Mixin, A.SquareSymmetry):
    pass


FAST = {
    "RandomRotate90": FastRandomRotate90,
    "Transpose": FastTranspose,
    "D4": FastD4,
    "SquareSymmetry": FastSquareSymmetry,
}
# The subclasses above registered themselves in albumentations' registry under this module's
# name ("pipeline.core.data.augment_spec.FastD4", ...): they never replace a stock name there.


# -- reading the config value ----------------------------------------------------------------
def read_value(value: Any, key: str) -> dict[str, Any] | None:
    """The serialized pipeline a config value gives: None / "" / {} -> None; a mapping as is;
    a one-line string ending in .yaml/.yml/.json -> that file (relative to the working
    directory, like the config's other paths); other strings -> YAML (JSON is YAML) text."""
    if value is None or (isinstance(value, (str, Mapping)) and not value):
        return None
    if isinstance(value, (DictConfig, ListConfig)):  # the config's own node: plain containers
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        raise UserError(
            f"{key}: expected albumentations' serialized pipeline (a mapping, YAML text or a "
            f"file path), got {type(value).__name__}"
        )
    text, source = value, "text"
    # A path is one line ending in .yaml/.yml/.json; anything else is YAML (or JSON) text.
    if "\n" not in value and value.strip().lower().endswith((".yaml", ".yml", ".json")):
        path = Path(value)
        if not path.is_file():
            raise UserError(f"{key}: pipeline file {path} not found")
        text, source = path.read_text(), str(path)
    try:
        data = json.loads(text) if source.endswith(".json") else yaml.safe_load(text)
    except Exception as e:  # the parsers raise many types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{key}: {source} is not valid YAML/JSON ({first})") from None
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise UserError(
            f"{key}: {source} must hold a mapping with __version__ and transform (what "
            f"A.to_dict writes), got {type(data).__name__}"
        )
    return dict(data)


# -- building and checking -------------------------------------------------------------------
class _Context:
    def __init__(self, role: int, scale: int, version: str | None):
        self.role = role
        self.key = KEYS[role]
        self.scale = scale
        self.note = ""
        if version is not None and str(version).split(".")[0] != A.__version__.split(".")[0]:
            self.note = f" (written by albumentations {version}; this is {A.__version__})"

    def error(self, where: str, message: str) -> UserError:
        return UserError(f"{self.key}: {where}: {message}{self.note}")


ABSTRACT = ("BasicTransform", "DualTransform", "ImageOnlyTransform", "Transform3D")


def _usable(name: str) -> bool:
    return "." not in name and not name.startswith(("Base", "_")) and name not in ABSTRACT


def _usable_names() -> list[str]:
    return sorted(n for n in SERIALIZABLE_REGISTRY if _usable(n))


def _where(path: str, name: str) -> str:
    return f"{name} ({path})"


def _classify(cls: type, name: str, ctx: _Context, where: str) -> None:
    """Refuse a leaf transform that cannot go into this pipeline, saying why."""
    if name in REFUSED:
        raise ctx.error(where, f"not allowed: {REFUSED[name]}")
    if issubclass(cls, Transform3D):
        raise ctx.error(where, "not allowed: a 3D (volume) transform")
    dual = issubclass(cls, DualTransform)
    photometric = issubclass(cls, ImageOnlyTransform)
    if not (dual or photometric):
        raise ctx.error(where, "not allowed: neither a DualTransform nor an ImageOnlyTransform")
    if ctx.role == PAIRED:
        if photometric:
            raise ctx.error(
                where,
                "is photometric (an ImageOnlyTransform): here it would change the clean "
                "target too; put it in augment.scan_only",
            )
        if issubclass(cls, PIXEL_ALIGNED_DUAL):
            raise ctx.error(
                where,
                "degrades pixels in place: here it would damage the clean target too; put it "
                "in augment.scan_only",
            )
        if ctx.scale > 1 and name not in SCALE_FREE:
            raise ctx.error(
                where,
                f"cannot keep LR and HR aligned at task.scale={ctx.scale} (its effect depends "
                f"on the image size); with super-resolution augment.pipeline may hold only "
                f"{', '.join(SCALE_FREE)} and their compositions",
            )
    elif dual and not issubclass(cls, PIXEL_ALIGNED_DUAL):
        raise ctx.error(
            where,
            "is geometric (a DualTransform): on the scan alone it would misalign scan and "
            "clean; put it in augment.pipeline",
        )


def _init_names(cls: type) -> tuple[list[str], set[str]]:
    """(the arguments cls takes, the further ones A.to_dict may write for it): to_dict collects
    the __init__ arguments of every class in the MRO, so e.g. SafeRotate is written with
    Affine's balanced_scale, which its own __init__ does not take (A.from_dict passes them and
    albumentations warns that they are ignored)."""
    own = [n for n in inspect.signature(cls).parameters if n not in ("self", "strict")]
    inherited: set[str] = set()
    for klass in cls.__mro__[1:]:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            inherited.update(inspect.signature(init).parameters)
        except (TypeError, ValueError):
            continue
    return own, inherited - set(own) - {"self", "args", "kwargs"}


def _check_args(cls: type, name: str, args: dict[str, Any], ctx: _Context, where: str) -> None:
    """Refuse an argument the transform does not know; drop, as albumentations ignores them,
    the inherited ones A.to_dict writes."""
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    known, written_by_to_dict = _init_names(cls)
    for arg in list(args):
        if arg in known or arg == "strict":
            continue
        if arg in written_by_to_dict:
            del args[arg]
            continue
        hint = ""
        if arg == "always_apply":
            hint = " (removed in albumentations 2.0: p=1 applies it always)"
        else:
            close = difflib.get_close_matches(arg, known, n=1)
            if close:
                hint = f" (did you mean {close[0]}?)"
        raise ctx.error(
            where, f"unknown argument '{arg}'{hint}; {name} takes {', '.join(known) or 'nothing'}"
        )


def _construction_error(e: Exception, ctx: _Context, where: str) -> UserError:
    """albumentations validates arguments with pydantic and re-raises a ValueError whose
    __cause__ is the pydantic ValidationError; its .errors() name the argument."""
    cause = e.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
        except Exception:
            first = None
        if first:
            loc = ".".join(str(part) for part in first.get("loc", ())) or "arguments"
            given = first.get("input")
            shown = "" if isinstance(given, dict) else f" (got {given!r})"
            return ctx.error(where, f"bad argument '{loc}'{shown}: {first.get('msg', e)}")
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return ctx.error(where, f"{type(e).__name__}: {message}")


def _build(node: Any, path: str, ctx: _Context) -> BasicTransform | BaseCompose:
    if not isinstance(node, Mapping):
        raise ctx.error(
            path, f"expected a transform (a mapping with __class_fullname__), got {node!r}"
        )
    raw_name = node.get("__class_fullname__")
    if not isinstance(raw_name, str) or not raw_name:
        raise ctx.error(path, "a transform needs __class_fullname__ (its class name)")
    name = shorten_class_name(raw_name)
    where = _where(path, name)
    cls = SERIALIZABLE_REGISTRY.get(name)
    if name in REFUSED or name in NON_SERIALIZABLE_REGISTRY:
        raise ctx.error(where, f"not allowed: {REFUSED.get(name, 'not serializable')}")
    if cls is None or not _usable(name):
        close = difflib.get_close_matches(name, _usable_names(), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ctx.error(path, f"unknown transform '{raw_name}'{hint}")
    args = {k: v for k, v in node.items() if k != "__class_fullname__"}
    if issubclass(cls, BaseCompose) and name not in COMPOSITIONS:
        raise ctx.error(where, f"not allowed: {REFUSED.get(name, 'not supported here')}")
    if "p" not in args and name not in ("Compose", "Sequential"):
        # A.from_dict would put in 0.5, which is not every transform's default (D4's is 1).
        raise ctx.error(
            where, "no 'p': give the probability explicitly (A.to_dict always writes it)"
        )
    _check_args(cls, name, args, ctx, where)
    if issubclass(cls, BaseCompose):
        if args.get("seed") is not None:
            raise ctx.error(
                where,
                "'seed' is not used here: randomness comes from train.seed, the epoch and the "
                "draw; remove it",
            )
        # What a Compose says about its caller's targets (boxes, extra images, checks) does
        # not apply: this pipeline is called with the scan and the clean image only.
        for arg in COMPOSE_CALL_ARGS:
            args.pop(arg, None)
        for arg in ("first", "second"):  # OneOrOther's two-transform form
            if args.get(arg) is not None:
                args[arg] = _build(args[arg], f"{path}.{arg}", ctx)
        children = args.get("transforms")
        if children is not None:
            if not isinstance(children, list):
                raise ctx.error(where, "'transforms' must be a list of transforms")
            args["transforms"] = [
                _build(child, f"{path}.transforms[{i}]", ctx) for i, child in enumerate(children)
            ]
        elif name != "OneOrOther":
            raise ctx.error(where, "needs 'transforms', a list of transforms")
    else:
        _classify(cls, name, ctx, where)
        cls = FAST.get(name, cls)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            built = cls(**args)
        except Exception as e:  # ValueError (pydantic), TypeError (signature), others
            raise _construction_error(e, ctx, where) from None
    for w in caught:
        first = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if "not valid for transform" in first:  # cannot happen after _check_args; to be sure
            raise ctx.error(where, first)
        # Deprecations and advice ("ShiftScaleRotate is a special case of Affine ..."): passed
        # on, one line, naming the transform.
        warnings.warn(f"{ctx.key}: {where}: {first}", UserWarning, stacklevel=2)
    return built


def build_pipeline(
    serialized: dict[str, Any] | None, role: int, scale: int = 1
) -> tuple[A.Compose | None, dict[str, Any] | None]:
    """The checked Compose of one serialized pipeline (None for an empty one), and the
    serialized form it was built from (for the run's record)."""
    if serialized is None:
        return None, None
    key = KEYS[role]
    if "transform" not in serialized:
        hint = " (this looks like one transform: wrap it as {__version__: ..., transform: ...})"
        raise UserError(
            f"{key}: expected what A.to_dict writes, a mapping with __version__ and transform"
            + (hint if "__class_fullname__" in serialized else "")
        )
    extra = set(serialized) - {"__version__", "transform"}
    if extra:
        names = ", ".join(sorted(map(str, extra)))
        raise UserError(f"{key}: unknown key(s) {names} beside __version__ and transform")
    ctx = _Context(role, scale, serialized.get("__version__"))
    root = _build(serialized["transform"], "transform", ctx)
    if isinstance(root, A.Compose):
        transforms, p = list(root.transforms), root.p
    else:
        transforms, p = [root], 1.0
    if not transforms:
        return None, serialized
    targets = {"clean": "image"} if role == PAIRED else None
    compose = A.Compose(transforms, p=p, additional_targets=targets)
    return compose, serialized


def default_pipeline(
    hflip: bool = True, vflip: bool = True, rot90: bool = True
) -> dict[str, Any] | None:
    """The switches' dihedral transforms as a serialized pipeline: the same sets, drawn
    uniformly, as bench.loading.dihedral_choices (all on: the 8 of D4)."""
    if rot90 and (hflip or vflip):
        transforms = [{"__class_fullname__": "D4", "p": 1.0}]
    elif rot90:
        transforms = [{"__class_fullname__": "RandomRotate90", "p": 1.0}]
    else:
        transforms = []
        if hflip:
            transforms.append({"__class_fullname__": "HorizontalFlip", "p": 0.5})
        if vflip:
            transforms.append({"__class_fullname__": "VerticalFlip", "p": 0.5})
    if not transforms:
        return None
    return {
        "__version__": A.__version__,
        "transform": {"__class_fullname__": "Compose", "p": 1.0, "transforms": transforms},
    }
