"""Magazine-like pages composed from images that ship inside installed packages.

A page has a coloured title band, photos, columns of rendered text and tinted panels. Each
magazine title has its own palette, fonts and layout habits, so pages of one title look alike.
The other kind of page (demo.pages=other) is built from other images (textures, coins, a
horse, text scans) on white, dark or tinted paper, with full-bleed photos, photo grids or
dense text: clean pages the demo's models never see, to check that a setting generalises.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import skimage
from PIL import Image, ImageDraw, ImageFont

from ..util.images import read_rgb

_SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
_MPL_DATA = Path(matplotlib.get_data_path())
PHOTO_FILES = [
    _SKIMAGE_DATA / "astronaut.png",
    _SKIMAGE_DATA / "chelsea.png",
    _SKIMAGE_DATA / "coffee.png",
    _SKIMAGE_DATA / "rocket.jpg",
    _SKIMAGE_DATA / "hubble_deep_field.jpg",
    _SKIMAGE_DATA / "motorcycle_left.png",
    _SKIMAGE_DATA / "ihc.png",
    _SKIMAGE_DATA / "retina.jpg",
    _SKIMAGE_DATA / "camera.png",
    _SKIMAGE_DATA / "moon.png",
    _MPL_DATA / "sample_data" / "grace_hopper.jpg",
]
FONT_DIR = _MPL_DATA / "fonts" / "ttf"
FONTS = ["DejaVuSerif.ttf", "DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSerif-Italic.ttf"]
BOLD_FONTS = ["DejaVuSerif-Bold.ttf", "DejaVuSans-Bold.ttf"]

WORDS = (
    "the of and design light studio city garden summer winter make build print paper color "
    "story issue page reader editor photo travel river market season street house coffee "
    "machine workshop craft wood metal glass music film night morning island mountain review "
    "guide notes letters interview future history science space rocket planet star recipe "
    "kitchen bread wine cheese harvest field forest ocean coast harbor bridge tower window "
    "door table chair lamp clock engine motor bicycle camera lens focus frame "
).split()


@dataclass(frozen=True)
class TitleStyle:
    """What pages of one magazine title share."""

    accent: tuple[int, int, int]
    panel: tuple[int, int, int]
    body_font: str
    head_font: str
    columns: int
    photo_left: bool


def title_style(rng: np.random.Generator) -> TitleStyle:
    hue = rng.uniform(0, 180)
    accent = _hsv_to_rgb(hue, rng.uniform(150, 255), rng.uniform(120, 220))
    panel = _hsv_to_rgb((hue + rng.uniform(20, 160)) % 180, rng.uniform(30, 90), 245)
    return TitleStyle(
        accent=accent,
        panel=panel,
        body_font=FONTS[rng.integers(len(FONTS))],
        head_font=BOLD_FONTS[rng.integers(len(BOLD_FONTS))],
        columns=int(rng.integers(1, 3)),
        photo_left=bool(rng.integers(2)),
    )


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    hsv = np.array([[[h, s, v]]], dtype=np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


@cache
def _photo(i: int) -> np.ndarray:
    return read_rgb(PHOTO_FILES[i])


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _crop_of(
    photo: np.ndarray, rng: np.random.Generator, w: int, h: int, zoom: float
) -> Image.Image:
    """A w x h window of `photo`, scaled to cover it and zoomed in by up to `zoom`."""
    ph, pw = photo.shape[:2]
    scale = max(w / pw, h / ph) * rng.uniform(1.0, zoom)
    resized = cv2.resize(
        photo, (max(w, round(pw * scale)), max(h, round(ph * scale))), interpolation=cv2.INTER_AREA
    )
    y = int(rng.integers(resized.shape[0] - h + 1))
    x = int(rng.integers(resized.shape[1] - w + 1))
    return Image.fromarray(resized[y : y + h, x : x + w])


def _photo_crop(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    return _crop_of(_photo(int(rng.integers(len(PHOTO_FILES)))), rng, w, h, 1.8)


def _sentence(rng: np.random.Generator, n: int) -> str:
    return " ".join(WORDS[i] for i in rng.integers(len(WORDS), size=n))


def _text_block(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], font, fill, rng: np.random.Generator
) -> None:
    """Fill a box with lines of words, ragged right."""
    x0, y0, x1, y1 = box
    line_h = int(font.size * 1.3)
    y = y0
    while y + line_h <= y1:
        words, line = _sentence(rng, 14).split(), ""
        for word in words:
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font) > x1 - x0:
                break
            line = trial
        draw.text((x0, y), line, font=font, fill=fill)
        y += line_h


def compose_page(
    rng: np.random.Generator, style: TitleStyle, title: str, page: int, size: int
) -> np.ndarray:
    """One clean page, HxWx3 uint8 RGB, size x size. Drawn at twice the size and reduced, so
    text and edges are anti-aliased like a digital original."""
    s = 2 * size
    img = Image.new("RGB", (s, s), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    margin = s // 16
    band = s // 9
    draw.rectangle([0, 0, s, band], fill=style.accent)
    draw.text(
        (margin, band // 5), title, font=_font(style.head_font, band // 2), fill=(255, 255, 255)
    )

    top = band + margin // 2
    photo_w = int(s * rng.uniform(0.38, 0.55))
    photo_h = int(s * rng.uniform(0.3, 0.5))
    px = margin if style.photo_left else s - margin - photo_w
    img.paste(_photo_crop(rng, photo_w, photo_h), (px, top))
    text_x0 = px + photo_w + margin // 2 if style.photo_left else margin
    text_x1 = s - margin if style.photo_left else px - margin // 2
    body = _font(style.body_font, max(9, s // 36))
    head = _font(style.head_font, max(12, s // 20))
    draw.text((text_x0, top), _sentence(rng, 2).title(), font=head, fill=style.accent)
    _text_block(
        draw, (text_x0, top + head.size * 2, text_x1, top + photo_h), body, (20, 20, 20), rng
    )

    y = top + photo_h + margin // 2
    panel_h = int(s * rng.uniform(0.12, 0.2))
    if rng.random() < 0.7:
        draw.rectangle([margin, y, s - margin, y + panel_h], fill=style.panel)
        _text_block(
            draw,
            (margin * 2, y + margin // 2, s - 2 * margin, y + panel_h - margin // 4),
            body,
            style.accent,
            rng,
        )
        y += panel_h + margin // 2
    col_w = (s - 2 * margin - (style.columns - 1) * margin // 2) // style.columns
    for c in range(style.columns):
        x0 = margin + c * (col_w + margin // 2)
        _text_block(draw, (x0, y, x0 + col_w, s - margin * 3 // 2), body, (25, 25, 25), rng)
    draw.text((s // 2, s - margin), str(page), font=body, fill=(90, 90, 90), anchor="mm")
    return cv2.resize(np.asarray(img), (size, size), interpolation=cv2.INTER_AREA)


# -- the other kind of page ----------------------------------------------------------------
OTHER_PHOTOS = [
    _SKIMAGE_DATA / "brick.png",
    _SKIMAGE_DATA / "grass.png",
    _SKIMAGE_DATA / "gravel.png",
    _SKIMAGE_DATA / "coins.png",
    _SKIMAGE_DATA / "color.png",
    _SKIMAGE_DATA / "horse.png",
    _SKIMAGE_DATA / "page.png",
    _SKIMAGE_DATA / "text.png",
    _SKIMAGE_DATA / "motorcycle_right.png",
    _SKIMAGE_DATA / "cell.png",
    _SKIMAGE_DATA / "clock_motion.png",
    _SKIMAGE_DATA / "microaneurysms.png",
    _SKIMAGE_DATA / "chessboard_RGB.png",
    _MPL_DATA / "sample_data" / "Minduka_Present_Blue_Pack.png",
    _MPL_DATA / "sample_data" / "logo2.png",
]


@cache
def _other_photo(i: int) -> np.ndarray:
    # IMREAD_COLOR: 8-bit 3-channel whatever the file (some are 16-bit or grey)
    return np.ascontiguousarray(cv2.imread(str(OTHER_PHOTOS[i]), cv2.IMREAD_COLOR)[..., ::-1])


@dataclass(frozen=True)
class OtherStyle:
    """What the pages of one title of the other kind share."""

    background: tuple[int, int, int]
    ink: tuple[int, int, int]
    accent: tuple[int, int, int]
    body_font: str
    head_font: str
    layout: str  # "bleed" | "grid" | "text"
    columns: int
    font_scale: float


def other_style(rng: np.random.Generator) -> OtherStyle:
    """A title of the other kind: white, dark or tinted paper, photo-led or text-led pages."""
    hue = rng.uniform(0, 180)
    kind = rng.choice(["white", "dark", "tint"], p=[0.35, 0.3, 0.35])
    if kind == "white":
        bg, ink = (255, 255, 255), (15, 15, 15)
    elif kind == "dark":
        bg = _hsv_to_rgb(hue, rng.uniform(0, 120), rng.uniform(15, 70))
        ink = (235, 235, 235)
    else:
        bg = _hsv_to_rgb(hue, rng.uniform(20, 110), rng.uniform(150, 235))
        ink = (30, 30, 30)
    accent = _hsv_to_rgb((hue + 90) % 180, rng.uniform(120, 255), rng.uniform(120, 255))
    return OtherStyle(
        background=bg,
        ink=ink,
        accent=accent,
        body_font=FONTS[rng.integers(len(FONTS))],
        head_font=BOLD_FONTS[rng.integers(len(BOLD_FONTS))],
        layout=str(rng.choice(["bleed", "grid", "text"])),
        columns=int(rng.integers(1, 4)),
        font_scale=float(rng.uniform(0.7, 1.5)),
    )


def _crop(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    return _crop_of(_other_photo(int(rng.integers(len(OTHER_PHOTOS)))), rng, w, h, 1.6)


def compose_other(
    rng: np.random.Generator, style: OtherStyle, title: str, page: int, size: int
) -> np.ndarray:
    """One clean page unlike the magazine pages (demo.pages=other), size x size."""
    s = 2 * size
    img = Image.new("RGB", (s, s), style.background)
    draw = ImageDraw.Draw(img)
    m = s // 20
    body = _font(style.body_font, max(9, int(s // 36 * style.font_scale)))
    head = _font(style.head_font, max(12, int(s // 16 * style.font_scale)))
    if style.layout == "bleed":
        # a photo over most of the page, a caption panel at the bottom
        ph = int(s * rng.uniform(0.55, 0.9))
        img.paste(_crop(rng, s, ph), (0, 0))
        draw.text((m, ph - head.size - m), title, font=head, fill=style.accent)
        _text_block(draw, (m, ph + m // 2, s - m, s - m), body, style.ink, rng)
    elif style.layout == "grid":
        n = int(rng.integers(2, 5))
        cols = 2
        rows = (n + 1) // 2
        top = head.size + 2 * m
        draw.text((m, m), title, font=head, fill=style.accent)
        cell_w = (s - 3 * m) // cols
        cell_h = int((s - top - m) * rng.uniform(0.5, 0.8)) // rows
        for k in range(n):
            r, c = divmod(k, cols)
            img.paste(_crop(rng, cell_w, cell_h - m // 2), (m + c * (cell_w + m), top + r * cell_h))
        y = top + rows * cell_h + m // 2
        _text_block(draw, (m, y, s - m, s - m), body, style.ink, rng)
    else:
        # text-heavy: a headline, a small photo, dense columns
        draw.text((m, m), title, font=head, fill=style.accent)
        pw, ph = int(s * rng.uniform(0.2, 0.35)), int(s * rng.uniform(0.15, 0.3))
        top = head.size + 2 * m
        img.paste(_crop(rng, pw, ph), (s - m - pw, top))
        col_w = (s - 2 * m - (style.columns - 1) * m // 2) // style.columns
        for c in range(style.columns):
            x0 = m + c * (col_w + m // 2)
            y0 = top + (ph + m // 2 if x0 + col_w > s - m - pw else 0)
            _text_block(draw, (x0, y0, x0 + col_w, s - m), body, style.ink, rng)
    return cv2.resize(np.asarray(img), (size, size), interpolation=cv2.INTER_AREA)
