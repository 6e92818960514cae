#!/usr/bin/env python3
"""Draw the figures of the image-prompts page's worked examples, as SVG files in notes/assets/figures/.

    python tools/make_prompt_figures.py           # (re)write the figures
    python tools/make_prompt_figures.py --check   # exit 1 when a committed figure differs from this script

Each figure shows one worked example of notes/image-prompts.md: on the left its prompt, each part coloured by the
slot it fills (subject, setting, lighting...); on the right a layout sketch of the picture the prompt asks for. The
sketches are diagrams drawn here from shapes, not model outputs and not copies of any image; they are part of the
notes and share their licence. tests/test_site.py runs --check, so a figure cannot drift from this script.

Text is set in a monospace font with each word stretched to an exact width (SVG textLength), so the highlights
sit under their words in whichever monospace font the reader's system has.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "notes" / "assets" / "figures"

# Slot: (legend label, highlight colour). Light tints under dark text, readable in print and on screen.
SLOTS = {
    "purpose": ("Purpose and audience", "#e4e4e4"),
    "roles": ("Roles of the input images", "#d9ecc8"),
    "subject": ("Subject", "#ffd9a8"),
    "setting": ("Setting", "#c6e8cf"),
    "style": ("Style and medium", "#e6cdf3"),
    "composition": ("Composition and format", "#bfdcf8"),
    "lighting": ("Lighting", "#fff0a0"),
    "camera": ("Camera and lens", "#bde9f0"),
    "colour": ("Colour", "#fac9dc"),
    "quality": ("Quality", "#ded5cf"),
    "keep": ("What must not change", "#d4d9f7"),
    "text": ("Text to render", "#ffe3c2"),
    "negative": ("What to leave out", "#ffc1c1"),
    "parameter": ("Parameters", "#d3d9e6"),
}
INK = "#1f2328"
MUTED = "#57606a"
LINE = "#8c959f"
PAPER = "#ffffff"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace"

WIDTH = 760
PROMPT_X, PROMPT_CHARS = 20, 54  # the prompt column: its left edge and its width in characters
CHAR, LINE_HEIGHT, FONT_SIZE = 7.2, 21, 12
SKETCH_X, SKETCH_W = 430, 310  # the sketch column


# --------------------------------------------------------------------------- drawing


@dataclass
class Svg:
    height: float = 0
    parts: list[str] = field(default_factory=list)

    def add(self, element: str, **attributes) -> None:
        content = attributes.pop("content", "")
        attrs = " ".join(f'{key.rstrip("_").replace("_", "-")}="{value}"' for key, value in attributes.items())
        self.parts.append(f"<{element} {attrs}>{content}</{element}>" if content else f"<{element} {attrs}/>")

    def text(self, x: float, y: float, words: str, size: float = 12, color: str = INK, weight: int = 400,
             anchor: str = "start", font: str = FONT) -> None:
        self.add("text", x=f"{x:g}", y=f"{y:g}", font_size=f"{size:g}", fill=color, font_weight=weight,
                 text_anchor=anchor, font_family=font, content=escape(words))

    def render(self, title: str, description: str) -> str:
        body = "\n".join(self.parts)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{self.height:g}" '
            f'viewBox="0 0 {WIDTH} {self.height:g}" role="img" aria-labelledby="title desc">\n'
            f"<title id=\"title\">{escape(title)}</title>\n<desc id=\"desc\">{escape(description)}</desc>\n"
            f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{self.height - 1:g}" rx="8" fill="{PAPER}" '
            f'stroke="#d0d7de"/>\n{body}\n</svg>\n'
        )


def prompt_block(svg: Svg, lines: list[tuple[str, list[tuple[str, str]]]], top: float) -> tuple[float, list[str]]:
    """Lay out the prompt: (label, [(text, slot), ...]) per block, words wrapped at PROMPT_CHARS, each word on its
    slot's colour. Returns the y below the block and the slots used, in order."""
    y = top
    used: list[str] = []
    for label, segments in lines:
        if label:
            svg.text(PROMPT_X, y + 12, label, size=11, color=MUTED, weight=600)
            y += 18
        words = [(word, slot) for text, slot in segments for word in text.split()]
        column, row = 0, 0
        previous_slot = None
        for word, slot in words:
            if slot not in used:
                used.append(slot)
            if column and column + 1 + len(word) > PROMPT_CHARS:
                column, row = 0, row + 1
                previous_slot = None
            start = column + (1 if column else 0)
            x = PROMPT_X + start * CHAR
            baseline = y + row * LINE_HEIGHT + 14
            # The highlight covers the space before a word when the previous word has the same slot.
            joined = previous_slot == slot and column
            rx = x - CHAR if joined else x - 2
            width = len(word) * CHAR + (CHAR if joined else 2) + 2
            svg.add("rect", x=f"{rx:g}", y=f"{baseline - 12:g}", width=f"{width:g}", height="16",
                    fill=SLOTS[slot][1])
            svg.add("text", x=f"{x:g}", y=f"{baseline:g}", font_size=FONT_SIZE, font_family=MONO, fill=INK,
                    textLength=f"{len(word) * CHAR:g}", lengthAdjust="spacingAndGlyphs", content=escape(word))
            column = start + len(word)
            previous_slot = slot
        y += (row + 1) * LINE_HEIGHT + 10
    return y, used


def legend(svg: Svg, used: list[str], top: float) -> float:
    x, y = PROMPT_X, top
    for slot in used:
        label, colour = SLOTS[slot]
        width = 22 + len(label) * 6.4
        if x + width > WIDTH - 20:
            x, y = PROMPT_X, y + 20
        svg.add("rect", x=f"{x:g}", y=f"{y:g}", width="14", height="14", rx="3", fill=colour, stroke=LINE,
                stroke_width="0.5")
        svg.text(x + 19, y + 11.5, label, size=11, color=MUTED)
        x += width + 10
    return y + 24


def frame(svg: Svg, ratio: float, top: float, label: str) -> tuple[float, float, float, float]:
    """The picture's outline in the sketch column, `ratio` = width / height, at most 260 px tall."""
    height = min(260, SKETCH_W / ratio)
    width = height * ratio
    x = SKETCH_X + (SKETCH_W - width) / 2
    svg.add("rect", x=f"{x:g}", y=f"{top:g}", width=f"{width:g}", height=f"{height:g}", fill="#f6f8fa",
            stroke=LINE, stroke_width="1.5")
    svg.text(x + width / 2, top + height + 16, label, size=11, color=MUTED, anchor="middle")
    return x, top, width, height


def note(svg: Svg, x: float, y: float, words: str, anchor: str = "start") -> None:
    svg.text(x, y, words, size=10.5, color=INK, anchor=anchor)


def arrow(svg: Svg, x1: float, y1: float, x2: float, y2: float, color: str = LINE) -> None:
    svg.add("line", x1=f"{x1:g}", y1=f"{y1:g}", x2=f"{x2:g}", y2=f"{y2:g}", stroke=color, stroke_width="1.5",
            marker_end="url(#arrow)")


ARROW_MARKER = (
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
    f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{LINE}"/></marker>'
    '<filter id="blur" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation="3"/></filter>'
    "</defs>"
)


def figure(title: str, description: str, prompt, sketch) -> str:
    svg = Svg()
    svg.parts.append(ARROW_MARKER)
    svg.text(PROMPT_X, 28, title, size=14, weight=700)
    svg.text(PROMPT_X, 46, "The prompt by slot (left) and a layout sketch of what it asks for (right)", size=11,
             color=MUTED)
    bottom, used = prompt_block(svg, prompt, 62)
    sketch_bottom = sketch(svg, 66)
    bottom = legend(svg, used, max(bottom, sketch_bottom) + 8)
    credit = "Diagram drawn for the AI notes (tools/make_prompt_figures.py); not a model output"
    svg.text(WIDTH - 20, bottom + 8, credit, size=9.5, color=MUTED, anchor="end")
    svg.height = bottom + 20
    return svg.render(title, description)


# --------------------------------------------------------------------------- the five examples


def product_sdxl() -> str:
    prompt = [
        ("Prompt", [
            ("studio product photo", "style"), ("of a matte black ceramic coffee mug", "subject"),
            ("on a pale oak table,", "setting"), ("steam rising,", "subject"),
            ("soft diffused window light from the left,", "lighting"), ("85mm, shallow depth of field,", "camera"),
            ("muted earth tones,", "colour"), ("sharp focus, clean minimal background", "quality"),
        ]),
        ("Negative prompt", [("text, logo, watermark, cluttered background, oversaturated", "negative")]),
    ]

    def sketch(svg: Svg, top: float) -> float:
        x, y, w, h = frame(svg, 1.0, top, "1:1, SDXL's native 1024 × 1024")
        svg.add("rect", x=f"{x + 4:g}", y=f"{y + 4:g}", width=f"{w - 8:g}", height=f"{h * 0.55:g}", fill="#d9d2c5",
                filter="url(#blur)")  # the background, out of focus
        svg.add("rect", x=f"{x:g}", y=f"{y + h * 0.62:g}", width=f"{w:g}", height=f"{h * 0.38:g}", fill="#e8d3ad")
        cx, base = x + w * 0.55, y + h * 0.75
        svg.add("rect", x=f"{cx - 32:g}", y=f"{base - 70:g}", width="64", height="72", rx="6", fill="#2b2b2b")
        svg.add("path", d=f"M{cx + 32:g},{base - 56:g} c26,0 26,40 0,40", fill="none", stroke="#2b2b2b",
                stroke_width="9")
        for dx in (-12, 2, 16):
            svg.add("path", d=f"M{cx + dx:g},{base - 78:g} c-8,-10 8,-18 0,-28 c-8,-10 8,-18 0,-26", fill="none",
                    stroke="#9aa4ad", stroke_width="2")
        for dy in (40, 70, 100):
            arrow(svg, x + 8, y + dy, cx - 44, base - 50 + dy / 6, "#d4a72c")
        note(svg, x + 8, y + 24, "window light, left")
        note(svg, x + w - 8, y + 24, "background blurred", anchor="end")
        note(svg, x + w - 8, y + 38, "(85mm, shallow depth)", anchor="end")
        note(svg, x + 8, y + h - 10, "no text, logo or watermark")
        return y + h + 24

    return figure(
        "Example 1 · product shot on SDXL",
        "The SDXL product-shot prompt coloured by slot, and a sketch: a black mug with steam on an oak table, light "
        "from a window on the left, the background blurred, no text or marks.",
        prompt,
        sketch,
    )


def portrait_flux() -> str:
    prompt = [
        ("Prompt (full sentences for a T5-reading model)", [
            ("An editorial photograph", "style"),
            ("of a woman in her seventies with short silver hair and a navy wool coat,", "subject"),
            ("sitting alone on a bench", "subject"), ("in an empty, rain-wet city square", "setting"),
            ("at blue hour.", "lighting"),
            ("She looks past the camera with a calm, slightly amused expression.", "subject"),
            ("Warm light from a café window falls on one side of her face;", "lighting"),
            ("the background is soft and out of focus.", "camera"),
            ("Shot on 35mm film with fine grain", "camera"), ("and gentle, cool colours.", "colour"),
        ]),
    ]

    def sketch(svg: Svg, top: float) -> float:
        x, y, w, h = frame(svg, 4 / 5, top, "a portrait frame (the prompt leaves the size to you)")
        svg.add("rect", x=f"{x + 3:g}", y=f"{y + 3:g}", width=f"{w - 6:g}", height=f"{h * 0.62:g}", fill="#9fb3c8",
                filter="url(#blur)")  # cool blue-hour background, out of focus
        svg.add("rect", x=f"{x:g}", y=f"{y + h * 0.64:g}", width=f"{w:g}", height=f"{h * 0.36:g}", fill="#7d8b99")
        for dy in (0.72, 0.8, 0.88):
            svg.add("line", x1=f"{x + 14:g}", y1=f"{y + h * dy:g}", x2=f"{x + w - 30:g}", y2=f"{y + h * dy:g}",
                    stroke="#b7c3cf", stroke_width="1.5", stroke_dasharray="12 8")  # reflections on wet stone
        svg.add("rect", x=f"{x + 6:g}", y=f"{y + h * 0.18:g}", width="46", height="62", fill="#f5c26b")  # café
        svg.add("rect", x=f"{x + w * 0.3:g}", y=f"{y + h * 0.6:g}", width=f"{w * 0.55:g}", height="10",
                fill="#5b4636")  # the bench
        cx = x + w * 0.58
        svg.add("circle", cx=f"{cx:g}", cy=f"{y + h * 0.36:g}", r="15", fill="#e9d5c3")
        svg.add("path", d=f"M{cx - 15:g},{y + h * 0.33:g} a15,15 0 0 1 30,0 z", fill="#d9dde1")  # silver hair
        svg.add("path", d=f"M{cx - 24:g},{y + h * 0.62:g} l6,-58 h36 l6,58 z", fill="#243b63")  # navy coat
        arrow(svg, x + 54, y + h * 0.26, cx - 17, y + h * 0.36, "#d4a72c")
        note(svg, x + 8, y + h * 0.14, "warm café light")
        note(svg, x + w - 6, y + 16, "blue hour, soft focus", anchor="end")
        note(svg, x + w - 6, y + h - 8, "empty, rain-wet square", anchor="end")
        return y + h + 24

    return figure(
        "Example 2 · editorial portrait on FLUX or SD3",
        "The portrait prompt coloured by slot, and a sketch: an older woman in a navy coat on a bench in an empty, "
        "wet square at blue hour, lit on one side by a warm café window, the background soft.",
        prompt,
        sketch,
    )


def illustration_chat() -> str:
    prompt = [
        ("Request to a chat model that rewrites it for its image model", [
            ('I need a cover illustration for a picture book for 4-6 year olds called "Milo and the Moon Kite".',
             "purpose"),
            ("Milo is a small brown hedgehog in a red scarf flying a kite shaped like a crescent moon", "subject"),
            ("from a hilltop at dusk.", "setting"),
            ("Style: soft watercolor and coloured pencil, warm and cosy, not scary.", "style"),
            ("Leave the top third as plain sky for the title,", "composition"),
            ("and do not put any text in the image itself.", "negative"), ("Square format.", "composition"),
        ]),
    ]

    def sketch(svg: Svg, top: float) -> float:
        x, y, w, h = frame(svg, 1.0, top, "square, as asked; the title is set later")
        svg.add("rect", x=f"{x:g}", y=f"{y:g}", width=f"{w:g}", height=f"{h:g}", fill="#f3d9c4")  # dusk sky
        svg.add("rect", x=f"{x + 6:g}", y=f"{y + 6:g}", width=f"{w - 12:g}", height=f"{h / 3 - 8:g}", fill="none",
                stroke="#6e7781", stroke_width="1.2", stroke_dasharray="6 4")
        note(svg, x + w / 2, y + h / 6 + 4, "top third: plain sky for the title", anchor="middle")
        svg.add("path", d=f"M{x:g},{y + h:g} L{x:g},{y + h * 0.78:g} Q{x + w * 0.45:g},{y + h * 0.5:g} "
                f"{x + w:g},{y + h * 0.8:g} L{x + w:g},{y + h:g} z", fill="#a9c98f")  # the hill
        hx, hy = x + w * 0.38, y + h * 0.64
        svg.add("ellipse", cx=f"{hx:g}", cy=f"{hy:g}", rx="22", ry="15", fill="#8a5a3b")  # Milo
        svg.add("rect", x=f"{hx - 6:g}", y=f"{hy - 12:g}", width="20", height="6", rx="3", fill="#d1242f")  # scarf
        kx, ky = x + w * 0.74, y + h * 0.42
        svg.add("path", d=f"M{kx:g},{ky - 20:g} a22,22 0 1 0 0,40 a16,16 0 1 1 0,-40 z", fill="#f6e27a",
                stroke="#b08800")  # crescent kite
        svg.add("path", d=f"M{kx - 6:g},{ky + 18:g} Q{x + w * 0.55:g},{y + h * 0.62:g} {hx + 14:g},{hy - 6:g}",
                fill="none", stroke="#57606a", stroke_width="1")
        note(svg, x + w - 8, y + h - 10, "no text in the picture", anchor="end")
        return y + h + 24

    return figure(
        "Example 3 · picture-book cover through a chat model",
        "The request coloured by slot, and a sketch of a square cover: a hedgehog in a red scarf on a hill at dusk "
        "flying a crescent-moon kite, the top third left as plain sky for the title, no text in the picture.",
        prompt,
        sketch,
    )


def poster_midjourney() -> str:
    prompt = [
        ("Prompt with Midjourney parameters", [
            ("art deco travel poster", "style"), ("of a lighthouse", "subject"), ("on a rocky coast,", "setting"),
            ("bold geometric sunrays,", "style"), ("limited palette of navy, cream and coral,", "colour"),
            ("screen print texture", "style"), ("--ar 2:3 --stylize 150", "parameter"), ("--no text", "negative"),
        ]),
    ]

    def sketch(svg: Svg, top: float) -> float:
        x, y, w, h = frame(svg, 2 / 3, top, "--ar 2:3, a portrait poster")
        navy, cream, coral = "#1f2a44", "#f3ead3", "#f0806a"
        svg.add("rect", x=f"{x:g}", y=f"{y:g}", width=f"{w:g}", height=f"{h:g}", fill=cream)
        cx, cy = x + w / 2, y + h * 0.62
        svg.parts.append(f'<defs><clipPath id="poster"><rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}"/>'
                         "</clipPath></defs>")
        for i in range(9):  # sunrays fanning up from the horizon
            a = -180 + i * 22.5
            x1 = cx + 400 * math.cos(math.radians(a - 5))
            y1 = cy + 400 * math.sin(math.radians(a - 5))
            x2 = cx + 400 * math.cos(math.radians(a + 5))
            y2 = cy + 400 * math.sin(math.radians(a + 5))
            svg.add("path", d=f"M{cx:g},{cy:g} L{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f} z", fill=coral,
                    clip_path="url(#poster)")
        svg.add("path", d=f"M{x:g},{y + h:g} L{x:g},{y + h * 0.78:g} L{x + w * 0.3:g},{y + h * 0.7:g} "
                f"L{x + w * 0.55:g},{y + h * 0.8:g} L{x + w:g},{y + h * 0.74:g} L{x + w:g},{y + h:g} z", fill=navy)
        lx = x + w * 0.42
        svg.add("path", d=f"M{lx - 10:g},{y + h * 0.72:g} L{lx - 6:g},{y + h * 0.34:g} L{lx + 6:g},{y + h * 0.34:g} "
                f"L{lx + 10:g},{y + h * 0.72:g} z", fill=cream, stroke=navy, stroke_width="2")
        svg.add("rect", x=f"{lx - 9:g}", y=f"{y + h * 0.29:g}", width="18", height="12", fill=navy)
        for i, colour in enumerate((navy, cream, coral)):
            svg.add("rect", x=f"{x + w + 14:g}", y=f"{y + 10 + i * 24:g}", width="18", height="18", fill=colour,
                    stroke=LINE)
        note(svg, x + w + 14, y + 92, "three inks")
        note(svg, x + w + 14, y + h - 10, "--no text")
        return y + h + 24

    return figure(
        "Example 4 · travel poster on Midjourney",
        "The poster prompt coloured by slot, and a sketch of a 2:3 poster: a lighthouse on a navy rocky coast under "
        "coral sunrays on cream, three inks only, no lettering.",
        prompt,
        sketch,
    )


def edit_2026() -> str:
    prompt = [
        ("Edit instruction with three reference images", [
            ("Put the model from image 1 in the jacket from image 2, zipped halfway,", "roles"),
            ("and place her on the street from image 3.", "roles"),
            ("Keep her face, hairstyle and pose exactly as in image 1", "keep"),
            ("and keep the jacket's colour, stitching and logo as in image 2.", "keep"),
            ("Match the lighting to the street: cool ambient light with warm reflections from shop windows.",
             "lighting"),
            ('Add a small shop sign on the left that reads "OPEN LATE" in white neon.', "text"),
            ("Do not add any other text.", "negative"),
        ]),
    ]

    def sketch(svg: Svg, top: float) -> float:
        size, gap = 78, 10
        inputs = [("image 1", "person"), ("image 2", "jacket"), ("image 3", "street")]
        for i, (label, kind) in enumerate(inputs):
            ix, iy = SKETCH_X + i * (size + gap) + 22, top
            svg.add("rect", x=f"{ix:g}", y=f"{iy:g}", width=f"{size}", height=f"{size}", fill="#f6f8fa", stroke=LINE)
            if kind == "person":
                svg.add("circle", cx=f"{ix + 39:g}", cy=f"{iy + 24:g}", r="10", fill="#e9d5c3")
                svg.add("path", d=f"M{ix + 24:g},{iy + 70:g} l4,-34 h22 l4,34 z", fill="#ffffff", stroke=LINE)
            elif kind == "jacket":
                svg.add("path", d=f"M{ix + 20:g},{iy + 66:g} l4,-44 l15,-6 l15,6 l4,44 z", fill="#4b7f52")
                svg.add("line", x1=f"{ix + 39:g}", y1=f"{iy + 18:g}", x2=f"{ix + 39:g}", y2=f"{iy + 66:g}",
                        stroke="#2f5233", stroke_width="1.5")
            else:
                svg.add("rect", x=f"{ix + 1:g}", y=f"{iy + 1:g}", width=f"{size - 2}", height=f"{size - 2}",
                        fill="#2d3748")
                for wx in (10, 52):
                    svg.add("rect", x=f"{ix + wx:g}", y=f"{iy + 20:g}", width="16", height="22", fill="#f5c26b")
            note(svg, ix + size / 2, iy + size + 14, label, anchor="middle")
        ox, oy, ow, oh = SKETCH_X + 70, top + size + 44, 170, 150
        for i in range(3):
            arrow(svg, SKETCH_X + 22 + i * (size + gap) + size / 2, top + size + 20, ox + ow / 2 + (i - 1) * 40,
                  oy - 4)
        svg.add("rect", x=f"{ox:g}", y=f"{oy:g}", width=f"{ow}", height=f"{oh}", fill="#2d3748", stroke=LINE)
        for wx in (112, 140):
            svg.add("rect", x=f"{ox + wx:g}", y=f"{oy + 24:g}", width="18", height="30", fill="#f5c26b")
        svg.add("rect", x=f"{ox + 8:g}", y=f"{oy + 14:g}", width="64", height="16", rx="3", fill="none",
                stroke="#ffffff", stroke_width="1.5")
        svg.text(ox + 40, oy + 26, "OPEN LATE", size=9, color="#ffffff", anchor="middle", weight=700)
        svg.add("circle", cx=f"{ox + 80:g}", cy=f"{oy + 60:g}", r="10", fill="#e9d5c3")
        svg.add("path", d=f"M{ox + 64:g},{oy + 140:g} l4,-66 h24 l4,66 z", fill="#4b7f52")
        note(svg, ox + ow / 2, oy + oh + 14, "the edit: person 1, jacket 2, street 3", anchor="middle")
        return oy + oh + 24

    return figure(
        "Example 5 · multi-reference edit on a 2026 editor",
        "The edit instruction coloured by slot, and a sketch: three inputs (a person, a green jacket, a night street) "
        "combine into one picture of the person in the jacket on the street, with a white neon sign reading OPEN LATE.",
        prompt,
        sketch,
    )


FIGURES = {
    "prompt-example-product-sdxl.svg": product_sdxl,
    "prompt-example-portrait-flux.svg": portrait_flux,
    "prompt-example-illustration-chat.svg": illustration_chat,
    "prompt-example-poster-midjourney.svg": poster_midjourney,
    "prompt-example-edit-2026.svg": edit_2026,
}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        svg = draw()
        path = OUT / name
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != svg:
                stale.append(name)
        else:
            path.write_text(svg, encoding="utf-8")
    if stale:
        print(f"figures differ from tools/make_prompt_figures.py: {', '.join(stale)} (run it to rewrite them)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
