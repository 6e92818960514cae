"""The notes' schema, defined once: which pages are generated, which data files exist, the keys of their rows.

Imported by the runtime (``knowledge/``), by the checker (``tools/check_notes.py``) and by the site build
(``tools/site_hooks.py``), so none of them can disagree with another. Plain constants: importing this module
costs nothing.
"""

from __future__ import annotations

# Data files, relative to the notes folder.
TAXONOMY_FILE = "data/taxonomy.yaml"
MODELS_FILE = "data/models.yaml"
MODIFIERS_FILE = "data/image_prompt_modifiers.yaml"
NEWS_FILE = "data/news.yaml"

# Pages that tools/site_hooks.py generates from the data files at build time (never written by hand).
CATALOG_PAGE = "catalog/models.md"
GENERATED_PAGES = (
    CATALOG_PAGE,
    "catalog/capabilities.md",
    "catalog/timeline.md",
    "catalog/image-prompt-modifiers.md",
    "news.md",
)
# The catalog's data as files beside its pages (JSON and CSV), also generated at build time: valid link targets.
GENERATED_DATA_FILES = (
    "catalog/models.json",
    "catalog/models.csv",
    "catalog/image-prompt-modifiers.json",
    "catalog/image-prompt-modifiers.csv",
)
# Pages that hold no claims of their own, so they need no sources section.
PAGES_WITHOUT_SOURCES = ("index.md", "contributing.md", "tags.md")

# A page must cite at least one source dated within this many days before its `updated` date.
FRESHNESS_DAYS = 365

# A catalog row (notes/data/models.yaml).
MODEL_REQUIRED_KEYS = (
    "id",
    "name",
    "organization",
    "released",
    "open_weights",
    "license",
    "modalities",
    "capabilities",
    "techniques",
    "sources",
    "notes",
)
MODEL_OPTIONAL_KEYS = ("collaborators", "parameters", "active_parameters", "context_window", "aliases")
# The technique that says the maker published nothing about training: it stands alone.
NOT_DISCLOSED = "not-disclosed"

# An image-prompt modifier row; its categories in the order the generated page lists them.
MODIFIER_REQUIRED_KEYS = ("term", "category", "effect", "example", "works_with")
MODIFIER_OPTIONAL_KEYS = ("source",)
# What a modifier's `works_with` may hold: the families whose prompt syntax or training captions the modifier
# depends on (a negative-prompt field, a Midjourney parameter, booru-style tags, legible text rendering), or
# "any", alone, for plain descriptive language that is not specific to any family.
WORKS_WITH_ANY = "any"
WORKS_WITH_FAMILIES = {
    "sd15": "Stable Diffusion 1.x",
    "sdxl": "SDXL",
    "sd3": "Stable Diffusion 3",
    "flux": "FLUX",
    "dall-e-3": "DALL-E 3",
    "midjourney": "Midjourney",
    "imagen": "Imagen",
}
MODIFIER_CATEGORIES = (
    "subject",
    "style",
    "medium",
    "composition",
    "lighting",
    "camera-and-lens",
    "colour",
    "quality",
    "negative",
)

# A row of the dated news log (notes/data/news.yaml), rendered as news.md ("What's new").
# `date` is YYYY-MM-DD, or YYYY-MM when only the month is known; `page` is the page.md#anchor of the
# section that explains the event; rows are kept oldest first.
NEWS_REQUIRED_KEYS = ("date", "title", "source", "page", "tags")
NEWS_OPTIONAL_KEYS = ()
