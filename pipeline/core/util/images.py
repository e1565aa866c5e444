"""Reading and writing images: every image enters the pipeline as 8-bit RGB or not at all.

Decoding goes through Pillow because it refuses truncated files (OpenCV quietly returns a
half-grey JPEG). Pillow also quietly narrows 16-bit PNG and TIFF to 8 bits, so their headers
are checked first: narrowing would change the metric, and a user should decide how.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UserError
from .files import write_bytes

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

# Modes that hold 8-bit RGB once converted, without losing anything a metric could see.
_SAFE_MODES = {"RGB", "L", "1", "P", "RGBX", "YCbCr"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}

Image.MAX_IMAGE_PIXELS = None  # scans are large; they come from the user, not from the web


def _bit_depth(im: Image.Image, path: Path) -> int:
    """Bits per sample as stored in the file (Pillow's mode hides 16-bit RGB)."""
    if im.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(26)
        return header[24]
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        return max(bits) if isinstance(bits, tuple) else int(bits)
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return 16
    return 32 if im.mode in ("I", "F") else 8


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode `path` into an HxWx3 uint8 RGB array, or raise UserError naming the file.

    Grayscale, palette and bilevel images are expanded to RGB; an alpha channel is dropped only
    when it is fully opaque. 16-bit, float, CMYK and translucent images are refused.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            depth = _bit_depth(im, path)
            if depth > 8:
                raise UserError(
                    f"{path}: {depth}-bit image; convert it to 8-bit RGB first "
                    "(the metric is defined on 8-bit images)"
                )
            im.load()
            mode = im.mode
            if mode in _ALPHA_MODES:
                rgba = im.convert("RGBA")
                alpha = np.asarray(rgba)[..., 3]
                if alpha.min() < 255:
                    raise UserError(
                        f"{path}: image has transparent pixels; flatten it onto a background first"
                    )
                return np.ascontiguousarray(np.asarray(rgba)[..., :3])
            if mode not in _SAFE_MODES:
                raise UserError(f"{path}: unsupported image mode {mode}; expected 8-bit RGB")
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except UserError:
        raise
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not a readable image") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path}: unreadable or truncated image ({e})") from None


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UserError(f"{path}: not a readable image") from None
    return height, width


def to_uint8(x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """`x * scale` as an image is saved: rounded to the nearest integer (ties to even) and
    saturated to 0..255, as uint8 (scale 255 for [0, 1] floats)."""
    rounded = np.rint(x * scale if scale != 1.0 else x)
    return np.clip(rounded, 0, 255, out=rounded).astype(np.uint8)


def encode_png(rgb: np.ndarray) -> bytes:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected HxWx3 uint8, got {rgb.shape} {rgb.dtype}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError("PNG encoding failed")
    return buf.tobytes()


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    """Write an HxWx3 uint8 RGB array as a lossless PNG, atomically."""
    write_bytes(path, encode_png(rgb))


def list_images(folder: str | Path, what: str = "images") -> dict[str, Path]:
    """Map file stem -> path for the images in `folder`; errors on a missing or empty folder
    and on two files that share a stem (`a.png` and `a.tif` would pair ambiguously)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: folder of {what} not found")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_EXTENSIONS or not p.is_file():
            continue
        if p.stem in found:
            raise UserError(f"{folder}: duplicate stem '{p.stem}' ({found[p.stem].name}, {p.name})")
        found[p.stem] = p
    if not found:
        exts = ", ".join(IMAGE_EXTENSIONS)
        raise UserError(f"{folder}: no {what} found (looked for {exts})")
    return found
