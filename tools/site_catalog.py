"""The catalog pages and data files, generated from notes/data/*.yaml at every build (by tools/site_hooks.py).

Pages (markdown with the tables as HTML, so that each row can carry its anchor and its filter values):

- catalog/models.md: one row per model, anchored by its catalog id (`catalog/models/#llama-4-scout`), filterable
  and sortable by assets/catalog.js, the filters kept in the URL;
- catalog/capabilities.md: the same models against the capabilities, then capabilities and techniques;
- catalog/timeline.md: the models by release date;
- catalog/image-prompt-modifiers.md: the modifiers by category, filterable.

Data files beside them: catalog/models.json and .csv, catalog/image-prompt-modifiers.json and .csv.

A page's date is the newest date in its data ("data as of"), never the build date. Empty values say what they
mean: "not published" (the maker gave no figure), "none" (an empty list), "not disclosed" (the maker published
nothing about training).
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from collections import Counter
from html import escape
from typing import Any

import check_notes  # tools/ is on sys.path while MkDocs loads the hooks
from mkdocs.structure.files import File

from mcp_server.knowledge.schema import (
    GENERATED_DATA_FILES,
    MODEL_OPTIONAL_KEYS,
    MODEL_REQUIRED_KEYS,
    MODIFIER_CATEGORIES,
    NOT_DISCLOSED,
    WORKS_WITH_ANY,
    WORKS_WITH_FAMILIES,
)

MODELS_PAGE = "catalog/models.md"
CAPABILITIES_PAGE = "catalog/capabilities.md"
TIMELINE_PAGE = "catalog/timeline.md"
MODIFIERS_PAGE = "catalog/image-prompt-modifiers.md"
MODIFIER_TITLES = {"camera-and-lens": "Camera and lens"}
# Where the notes explain each family a modifier can depend on.
FAMILY_NOTES = {
    "sd15": "image-generation.md#latent-diffusion",
    "sdxl": "image-generation.md#sdxl",
    "sd3": "image-generation.md#flow-models",
    "flux": "image-generation.md#flow-models",
    "dall-e-3": "image-generation.md#dall-e",
    "midjourney": "image-generation.md#midjourney",
    "imagen": "image-generation.md#imagen",
}
# Empty values, in words (the page's "Columns" section says what each means).
NOT_PUBLISHED = '<span class="nil">not published</span>'
NONE = '<span class="nil">none</span>'
SIZE_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


# --------------------------------------------------------------------------- small helpers


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def tag(element: str, content: str = "", /, **attributes: Any) -> str:
    """An HTML element; attribute names use _ for - (data_capability -> data-capability), None drops one."""
    attrs = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"' for key, value in attributes.items() if value is not None
    )
    return f"<{element}{attrs}>{content}</{element}>"


def values(items: Any) -> str:
    """A row's values for one filter, as catalog.js reads them: separated by |."""
    return "|".join(str(item) for item in items or [])


def chips(items: list[str], kind: str = "") -> str:
    return "".join(tag("span", esc(item), class_=f"chip {kind}".strip()) for item in items)


def href(state: dict, from_page: str, ref: str) -> str:
    """The relative URL, from a generated page, of `page.md#anchor` (or a file) in the notes."""
    path, _, anchor = ref.partition("#")
    target = state["files"].get_file_from_path(path)
    here = File(from_page, None, "", state["config"].use_directory_urls)
    url = target.url_relative_to(here) if target else path
    return url + (f"#{anchor}" if anchor else "")


def data_date(models: list[dict]) -> str:
    """The newest release in the catalog: how recent the data is (not when the site was built)."""
    dates = [str(m.get("released")) for m in models if check_notes.is_iso_date(str(m.get("released")))]
    return max(dates, default="")


def front_matter(title: str, description: str, updated: str, note: str, search: str = "") -> str:
    """Front matter for a wide, generated page. `updated_note` replaces the "Updated" line under the title."""
    return (
        f"---\ntitle: {json.dumps(title)}\ndescription: {json.dumps(description)}\ntags: [catalog]\n"
        f"updated: {updated}\nupdated_note: {json.dumps(note)}\nhide: [navigation, toc, tags]\n"
        f"{search}catalog: true\n---\n\n# {title}\n\n"
    )


def newest_first(models: list[dict]) -> list[dict]:
    return sorted(models, key=lambda m: (str(m.get("released")), str(m.get("name"))), reverse=True)


def parameter_count(text: Any) -> float:
    """A published size such as "7.1B" as a number (0 when it is not one), for ordering sizes."""
    match = check_notes.SIZE.match(str(text))
    return float(str(text)[:-1]) * SIZE_UNITS[str(text)[-1]] if match else 0.0


def sizes(model: dict) -> list[str]:
    """The family's published sizes, largest first: the column sorts a family by its largest model."""
    parameters = model.get("parameters")
    if not isinstance(parameters, list):
        return []
    return sorted((str(p) for p in parameters), key=parameter_count, reverse=True)


def size_cell(model: dict, shown: int = 3) -> str:
    """The largest `shown` sizes, then how many more (all of them in the title)."""
    published = sizes(model)
    if not published:
        return NOT_PUBLISHED
    active = model.get("active_parameters")
    text = esc(", ".join(published[:shown]))
    if len(published) > shown:
        text = tag("span", text + f" +{len(published) - shown}", title=", ".join(published))
    return text + (tag("span", f" · {esc(active)} active", class_="sub") if active else "")


def compact_tokens(count: int) -> str:
    """128000 -> 128K, 1048576 -> 1M: how model pages quote windows (the exact count is in the title)."""
    for unit, size in (("M", 1 << 20), ("K", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size}{unit}"
    for unit, size in (("M", 1_000_000), ("K", 1_000)):
        if count >= size:
            return f"{count / size:.4g}{unit}"
    return str(count)


def display_name(model: dict) -> str:
    """The name, with a parenthesised qualifier ("Claude 3 (Haiku, Sonnet, Opus)") set smaller."""
    name = str(model.get("name", ""))
    match = re.match(r"^(.*?)\s*(\(.*\))$", name)
    if not match:
        return esc(name)
    return esc(match[1]) + " " + tag("span", esc(match[2]), class_="sub")


def row_link(ident: str) -> str:
    return tag("a", "#", href=f"#{ident}", class_="row-link", aria_label="Link to this row")


def searchable(*parts: Any) -> str:
    """The text the name box of a filter matches, lower-cased."""
    return " ".join(" ".join(map(str, p)) if isinstance(p, list) else str(p or "") for p in parts).lower()


# --------------------------------------------------------------------------- filters


def filter_form(tables: str, controls: list[tuple[str, str, list[tuple[str, str]]]], noun: str, hint: str) -> str:
    """The filter box for the tables that the CSS selector `tables` finds: a text box (URL parameter `find`;
    Material's search owns `q`), then one select per (parameter, label, options). A row matches a select when
    its data-<parameter> (values separated by |) holds the chosen value. assets/catalog.js wires the box up and
    keeps its state in the URL; without JavaScript it stays hidden."""
    parts = [tag("input", type="search", name="find", placeholder=hint, aria_label=hint)]
    for param, label, options in controls:
        choices = tag("option", esc(f"{label}: any"), value="") + "".join(
            tag("option", esc(text), value=value) for value, text in options
        )
        parts.append(tag("select", choices, name=param, aria_label=label))
    parts.append(tag("button", "Reset", type="reset"))
    parts.append(tag("output", "", class_="catalog-count", aria_live="polite"))
    return tag("form", "".join(parts), class_="catalog-filters", data_tables=tables, data_noun=noun, role="search")


def counted(rows: list[dict], key: str, label=lambda v: v, order=None) -> list[tuple[str, str]]:
    """Select options for the values of a list field, each with how many rows hold it."""
    counts = Counter(v for row in rows for v in row_values(row, key))
    names = order if order is not None else sorted(counts, key=str.casefold)
    return [(v, f"{label(v)} ({counts[v]})") for v in names if counts[v]]


def row_values(row: dict, key: str) -> list[str]:
    if key == "organisation":
        return [str(row.get("organization"))] + [str(c) for c in row.get("collaborators") or []]
    if key == "modality":
        sides = row.get("modalities") or {}
        return sorted(set(sides.get("input") or []) | set(sides.get("output") or []))
    if key == "open":
        return ["yes" if row.get("open_weights") else "no"]
    return [str(v) for v in row.get(key) or []]


def model_filters(models: list[dict], taxonomy: dict, with_techniques: bool = True) -> list:
    controls = [
        ("capability", "Capability", counted(models, "capabilities", order=list(taxonomy.get("capabilities") or {}))),
        ("modality", "Modality", counted(models, "modality")),
        ("organisation", "Organisation", counted(models, "organisation")),
        ("open", "Open weights", counted(models, "open", order=["yes", "no"])),
    ]
    if with_techniques:
        order = list(taxonomy.get("techniques") or {})
        controls.append(("technique", "Technique", counted(models, "techniques", technique_label, order)))
    return controls


def technique_label(value: str) -> str:
    return "not disclosed" if value == NOT_DISCLOSED else value


def filter_attributes(model: dict) -> dict[str, str]:
    return {
        "data_capability": values(row_values(model, "capabilities")),
        "data_modality": values(row_values(model, "modality")),
        "data_organisation": values(row_values(model, "organisation")),
        "data_open": values(row_values(model, "open")),
        "data_technique": values(row_values(model, "techniques")),
        "data_find": searchable(model.get("name"), model.get("id"), model.get("aliases"), model.get("organization")),
    }


# --------------------------------------------------------------------------- model catalog


def section_title(state: dict, ref: str) -> str:
    """ "Text models › Open-weight models in 2026" for text.md#open-weights-2026: the section a row links to."""
    titles = state.setdefault("section_titles", {})
    if ref not in titles:
        path, _, anchor = ref.partition("#")
        page = check_notes.load_page(state["notes_dir"], state["notes_dir"] / path, [])
        title = page.meta.get("title", path) if isinstance(page.meta, dict) else path
        heading = ""
        if anchor in page.anchors:
            line = page.lines[page.anchors[anchor][0] - 1]
            heading = check_notes.ATTR_LIST.sub("", line).lstrip("#").strip()
        titles[ref] = f"{title} › {heading}" if heading else str(title)
    return titles[ref]


def notes_cell(state: dict, model: dict, page: str) -> str:
    ref = model.get("notes")
    if not isinstance(ref, str) or "#" not in ref:
        return NONE
    title = section_title(state, ref)
    return tag("a", esc(title), href=href(state, page, ref), title=title)


def modalities_cell(model: dict) -> str:
    sides = model.get("modalities") or {}
    inputs = ", ".join(sides.get("input") or [])
    outputs = ", ".join(sides.get("output") or []) or "vectors"  # embedding models return vectors
    return f"{esc(inputs)} → {esc(outputs)}"


def techniques_cell(model: dict) -> str:
    techniques = [str(t) for t in model.get("techniques") or []]
    if techniques == [NOT_DISCLOSED]:
        return tag("span", "not disclosed", class_="nil")
    return chips(techniques) if techniques else NONE


def organisation_cell(model: dict) -> str:
    collaborators = model.get("collaborators") or []
    extra = esc(" with " + ", ".join(collaborators)) if collaborators else ""
    return esc(model.get("organization", "")) + extra


def weights_cell(model: dict) -> str:
    """Open weights and their licence, or closed (every closed row's licence is proprietary)."""
    if not model.get("open_weights"):
        return tag("span", "closed", class_="chip")
    licence = str(model.get("license", ""))
    return tag("span", "open", class_="chip chip-open") + " " + tag("span", esc(licence), class_="licence",
                                                                     title=licence)


def sources_links(model: dict) -> str:
    sources = model.get("sources") or []
    links = "".join(tag("a", f"[{i}]", href=url) for i, url in enumerate(sources, 1))
    return tag("span", links, class_="sources")


def model_row(state: dict, model: dict) -> str:
    ident = str(model.get("id"))
    window = model.get("context_window")
    maker = tag("span", organisation_cell(model) + " " + sources_links(model), class_="maker")
    name = display_name(model) + row_link(ident) + maker
    cells = [
        tag("td", name, class_="c-name"),
        tag("td", esc(model.get("released", "")), class_="c-date"),
        tag("td", size_cell(model), class_="c-num c-size",
            data_sort=parameter_count(sizes(model)[0]) if sizes(model) else None),
        tag("td", weights_cell(model), class_="c-weights", data_sort="1" if model.get("open_weights") else "0"),
        tag("td", modalities_cell(model), class_="c-mod"),
        tag("td", compact_tokens(window), class_="c-num c-ctx", data_sort=window, title=f"{window:,} tokens")
        if isinstance(window, int)
        else tag("td", NOT_PUBLISHED, class_="c-num c-ctx"),
        tag("td", chips([str(c) for c in model.get("capabilities") or []]) or NONE, class_="c-chips c-caps"),
        tag("td", techniques_cell(model), class_="c-chips c-tech"),
        tag("td", notes_cell(state, model, MODELS_PAGE), class_="c-notes"),
    ]
    return tag("tr", "".join(cells), id=ident, **filter_attributes(model))


MODEL_COLUMNS = [  # (heading, sort key: "text", "num", or None for no sorting)
    ("Model", "text"),
    ("Released", "text"),
    ("Parameters", "num"),
    ("Weights", "num"),
    ("Modalities", "text"),
    ("Context", "num"),
    ("Capabilities", None),
    ("Techniques", None),
    ("Notes", "text"),
]


def header_row(columns: list[tuple[str, str | None]]) -> str:
    cells = "".join(
        tag("th", esc(name), scope="col", data_sort=kind, data_key=name.lower()) for name, kind in columns
    )
    return tag("thead", tag("tr", cells))


def render_models(state: dict) -> str:
    models = newest_first(state["models"])
    as_of = data_date(models)
    table = tag(
        "table",
        header_row(MODEL_COLUMNS) + tag("tbody", "\n".join(model_row(state, m) for m in models)),
        class_="catalog catalog-models",
        id="models-table",
        data_sortable="true",
    )
    return (
        front_matter(
            "Model catalog",
            "Every model in the notes' catalog: organisation, release date, size, licence, modalities, "
            "context window, capabilities and techniques, with the section of the notes that explains it.",
            as_of,
            f"Data as of {as_of}, the newest release in the catalog",
        )
        + f"{len(models)} models, newest first: filter, sort by a heading, link a row by its id."
        " [Columns explained](#columns) · [JSON](models.json) · [CSV](models.csv) ·"
        " [capability matrix](capabilities.md) · [timeline](timeline.md)\n\n"
        + filter_form("#models-table", model_filters(models, state["taxonomy"]), "models", "Model or maker")
        + "\n\n"
        + tag("div", "\n" + table + "\n", class_="catalog-scroll", data_search_exclude="")
        + "\n\n"
        + MODEL_COLUMNS_NOTE
    )


MODEL_COLUMNS_NOTE = """\
## Columns {#columns}

- **Model**: the maker's name for the model or family; under it the lead maker, then the makers it worked
  with (one spelling per maker: Google covers DeepMind, Meta covers Facebook AI), and the primary sources
  checked for the row ([1], [2]). The `#` after the name links the row; its id is the row's `id` in
  `notes/data/models.yaml`, so `catalog/models/#<id>` stays stable for citing.
- **Released**: the date of the paper or announcement.
- **Parameters**: the sizes the maker published, largest first, so sorting ranks a family by its largest model
  (Gopher by 280B, not its 44M sibling); for mixture-of-experts models, the total and then the parameters
  active per token. *Not published* means the maker gave no figure.
- **Weights**: *open* weights can be downloaded, under the licence named (hover for all of it); *closed*
  ones cannot, and the model is offered under proprietary terms.
- **Context**: the context window in tokens (1K = 1,024 where the maker gives a power of two); hover for the
  exact count. *Not published* means the maker gave no figure.
- **Capabilities** and **Techniques**: values from the controlled vocabulary in `notes/data/taxonomy.yaml`,
  each recorded only where a cited source documents it. *None* is an empty list: none of the vocabulary
  applies. *Not disclosed* means the maker has published nothing about how the model was trained.
- **Notes**: the section of the notes that names and explains the model (page › section).
"""


# --------------------------------------------------------------------------- capability matrix


def render_capabilities(state: dict) -> str:
    taxonomy = state["taxonomy"]
    models = sorted(state["models"], key=lambda m: str(m.get("name")).lower())
    capability_names = taxonomy.get("capabilities") or {}
    used = [c for c in capability_names if any(c in (m.get("capabilities") or []) for m in models)]
    header = tag(
        "thead",
        tag(
            "tr",
            tag("th", "Model", scope="col")
            + "".join(tag("th", tag("span", esc(c)), scope="col", title=str(capability_names[c])) for c in used),
        ),
    )
    rows = []
    for model in models:
        having = set(model.get("capabilities") or [])
        ticks = "".join(
            tag("td", "✓", class_="tick", data_label=c) if c in having else tag("td", "", class_="no")
            for c in used
        )
        name = tag("a", display_name(model), href=href(state, CAPABILITIES_PAGE, f"{MODELS_PAGE}#{model['id']}"))
        rows.append(
            tag("tr", tag("td", name + row_link(str(model["id"])), class_="c-name") + ticks, id=str(model["id"]),
                **filter_attributes(model))
        )
    matrix = tag("table", header + tag("tbody", "\n".join(rows)), class_="catalog catalog-matrix", id="matrix-table")
    by_capability = []
    for capability in used:
        having = [m for m in models if capability in (m.get("capabilities") or [])]
        techniques = Counter(t for m in having for t in m.get("techniques") or [])
        by_capability.append(
            [
                f"`{capability}`",
                md_cell(capability_names[capability]),
                str(len(having)),
                ", ".join(f"{technique_label(t)} ({n})" for t, n in techniques.most_common()) or "none",
            ]
        )
    technique_names = taxonomy.get("techniques") or {}
    by_technique = [
        [f"`{t}`", md_cell(meaning), str(sum(t in (m.get("techniques") or []) for m in models))]
        for t, meaning in technique_names.items()
    ]
    as_of = data_date(models)
    return (
        front_matter(
            "Capability matrix",
            "Which catalog models have which capabilities, and the training techniques behind them.",
            as_of,
            f"Data as of {as_of}, the newest release in the catalog",
            search="search: {exclude: true}\n",  # the model catalog holds the same rows
        )
        + f"{len(models)} models against the {len(used)} capabilities the catalog records, from"
        " `notes/data/models.yaml`. A tick means a cited source documents the capability; a dot means none"
        " does. Hover a heading for its meaning. Sizes, licences and sources are in the"
        " [model catalog](models.md).\n\n"
        "## Models by capability {#matrix}\n\n"
        + filter_form("#matrix-table", model_filters(models, taxonomy, with_techniques=False), "models",
                      "Model or maker")
        + "\n\n"
        + tag("div", "\n" + matrix + "\n", class_="catalog-scroll")
        + "\n\n## Capabilities and the techniques behind them {#by-capability}\n\n"
        "For each capability: how many catalog models have it, and the techniques those models"
        " were trained with (with counts). This is co-occurrence in the catalog, a pointer to"
        " what to read about, not proof of cause.\n\n"
        + md_table(["Capability", "Meaning", "Models", "Techniques (models)"], by_capability)
        + "\n## Techniques {#techniques}\n\n"
        + md_table(["Technique", "Meaning", "Models"], by_technique)
    )


TABLE_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]{}|"} | {"<": "&lt;", "\n": " "})


def md_cell(value: Any) -> str:
    return str(value).translate(TABLE_ESCAPES)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- timeline


def render_timeline(state: dict) -> str:
    by_year: dict[str, list[dict]] = {}
    for model in newest_first(state["models"]):
        by_year.setdefault(str(model.get("released", "unknown"))[:4], []).append(model)
    columns = [("Released", None), ("Model", None), ("Parameters", None), ("Weights", None), ("Capabilities", None)]
    body = ""
    for year, models in by_year.items():
        rows = [
            tag(
                "tr",
                tag("td", esc(m.get("released", "")), class_="c-date")
                + tag("td", tag("a", display_name(m), href=href(state, TIMELINE_PAGE, f"{MODELS_PAGE}#{m['id']}"))
                      + tag("span", organisation_cell(m), class_="maker"), class_="c-name")
                + tag("td", size_cell(m), class_="c-num c-size")
                + tag("td", weights_cell(m), class_="c-weights")
                + tag("td", chips([str(c) for c in m.get("capabilities") or []]) or NONE, class_="c-chips"),
                id=str(m["id"]),
            )
            for m in models
        ]
        table = tag("table", header_row(columns) + tag("tbody", "\n".join(rows)), class_="catalog catalog-timeline")
        body += f"\n## {year} {{#y{year}}}\n\n" + tag("div", "\n" + table + "\n", class_="catalog-scroll") + "\n"
    as_of = data_date(state["models"])
    return (
        front_matter(
            "Release timeline",
            "The catalog's models by release date, newest first, grouped by year.",
            as_of,
            f"Data as of {as_of}, the newest release in the catalog",
            search="search: {exclude: true}\n",  # the model catalog holds the same rows
        )
        + f"{len(state['models'])} releases from `notes/data/models.yaml`, newest first. Dates are"
        " those of the paper or announcement; each name links its row in the [model catalog](models.md).\n" + body
    )


# --------------------------------------------------------------------------- image-prompt modifiers


def works_with_cell(state: dict, modifier: dict) -> str:
    codes = [str(c) for c in modifier.get("works_with") or []]
    if codes == [WORKS_WITH_ANY]:
        return tag("span", "any model", class_="nil")
    return "".join(
        tag("a", esc(code), href=href(state, MODIFIERS_PAGE, FAMILY_NOTES[code]), class_="chip",
            title=WORKS_WITH_FAMILIES[code])
        if code in FAMILY_NOTES
        else tag("span", esc(code), class_="chip")
        for code in codes
    )


def modifier_row(state: dict, modifier: dict) -> str:
    source = modifier.get("source")
    cells = [
        tag("td", tag("strong", esc(modifier.get("term", ""))), class_="c-term"),
        tag("td", esc(modifier.get("effect", ""))),
        tag("td", esc(modifier.get("example", "")), class_="c-example"),
        tag("td", works_with_cell(state, modifier), class_="c-chips"),
        tag("td", tag("a", "guide", href=source) if source else
            tag("span", "none", class_="nil"), class_="c-src"),
    ]
    codes = [str(c) for c in modifier.get("works_with") or []]
    return tag(
        "tr",
        "".join(cells),
        data_category=str(modifier.get("category")),
        data_works=values(codes),
        data_source="yes" if source else "no",
        data_find=searchable(modifier.get("term"), modifier.get("effect"), modifier.get("example")),
    )


def render_modifiers(state: dict) -> str:
    modifiers = state["modifiers"]
    columns = [("Modifier", None), ("Effect", None), ("Example", None), ("Works with", None), ("Source", None)]
    body = ""
    for category in MODIFIER_CATEGORIES:
        rows = [modifier_row(state, m) for m in modifiers if m.get("category") == category]
        if rows:
            title = MODIFIER_TITLES.get(category, category.capitalize())
            table = tag("table", header_row(columns) + tag("tbody", "\n".join(rows)),
                        class_="catalog catalog-modifiers")
            box = tag("div", "\n" + table + "\n", class_="catalog-scroll")
            body += f"\n## {title} {{#{category}}}\n\n{box}\n"
    generic = sum([str(c) for c in m.get("works_with") or []] == [WORKS_WITH_ANY] for m in modifiers)
    sourced = sum(bool(m.get("source")) for m in modifiers)
    works = Counter(c for m in modifiers for c in m.get("works_with") or [] if c != WORKS_WITH_ANY)
    controls = [
        ("category", "Category", [(c, MODIFIER_TITLES.get(c, c.capitalize())) for c in MODIFIER_CATEGORIES]),
        ("works", "Works with", [(WORKS_WITH_ANY, f"any model ({generic})")]
         + [(code, f"{name} ({works[code]})") for code, name in WORKS_WITH_FAMILIES.items() if works[code]]),
        ("source", "Source", [("yes", f"an official guide ({sourced})"), ("no", f"none ({len(modifiers) - sourced})")]),
    ]
    legend = " · ".join(
        f"[`{code}`](../{FAMILY_NOTES[code]}) {name}" for code, name in WORKS_WITH_FAMILIES.items()
    )
    counts = "\n".join(f"| `{code}` | {name} | {works[code]} |" for code, name in WORKS_WITH_FAMILIES.items())
    updated = str(state.get("prompts_updated") or "")
    return (
        front_matter(
            "Image prompt modifiers",
            "Image-prompt modifiers by category: what each does to the picture, an example, and the model "
            "families it depends on, if any.",
            updated,
            f"The data records no dates; it is reviewed with Image prompts (updated {updated})",
        )
        + f"{len(modifiers)} modifiers from `notes/data/image_prompt_modifiers.yaml` (also as"
        " [JSON](image-prompt-modifiers.json) and [CSV](image-prompt-modifiers.csv)); why they work is explained"
        " in [Image prompts](../image-prompts.md). **Works with**: *any model* for plain language that no family"
        f" owns, else the families the term depends on: {legend} ([more](#reading)).\n\n"
        + filter_form(".catalog-modifiers", controls, "modifiers", "Term, effect or example")
        + "\n"
        + body
        + "\n## Reading the table {#reading}\n\n"
        f"**Works with** says whether a term depends on a model family. *Any model* ({generic} rows) marks plain"
        " descriptive language (a lens, a light, a palette) that is not specific to a family: every text-to-image"
        " model reads it, with results that vary by model and version. The other rows name the families whose"
        " syntax or training the term relies on: a negative-prompt field (the Stable Diffusion family, and"
        " Midjourney through `--no`), a Midjourney parameter, the booru-style quality tags of SD 1.x and SDXL"
        " fine-tunes, or a model that can render legible text. No row records a test of a term on each family,"
        " so the codes say where a term applies, not how well it works.\n\n"
        "| Code | Family | Rows that name it |\n|---|---|---|\n" + counts + "\n\n"
        f"**Source** links an official prompting guide that documents the term; {sourced} of {len(modifiers)} rows"
        " have one (Google's Imagen prompt guide, Black Forest Labs' FLUX guide). The rest summarise common"
        " practice, explained with sources on the [Image prompts](../image-prompts.md) page.\n"
    )


# --------------------------------------------------------------------------- data files


def model_record(state: dict, model: dict) -> dict:
    keys = [k for k in (*MODEL_REQUIRED_KEYS, *MODEL_OPTIONAL_KEYS) if k in model]
    record = {key: model[key] for key in keys}
    record["url"] = state["base"] + f"catalog/models/#{model.get('id')}"
    ref = model.get("notes")
    if isinstance(ref, str):
        path, _, anchor = ref.partition("#")
        target = state["files"].get_file_from_path(path)
        record["notes_url"] = state["base"] + (target.url if target else path) + (f"#{anchor}" if anchor else "")
    return record


def models_json(state: dict) -> str:
    models = newest_first(state["models"])
    taxonomy = state["taxonomy"]
    data = {
        "title": "AI notes model catalog",
        "source": "notes/data/models.yaml",
        "data_as_of": data_date(models),
        "count": len(models),
        "empty_values": {
            "null": "the maker has not published the figure",
            "[]": "none of the controlled vocabulary applies",
            f"techniques: [{NOT_DISCLOSED}]": "the maker has published nothing about training",
        },
        "vocabulary": {key: taxonomy.get(key) or {} for key in ("capabilities", "techniques")},
        "models": [model_record(state, m) for m in models],
    }
    return json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n"


CSV_MODEL_COLUMNS = [
    "id", "name", "organization", "collaborators", "released", "parameters", "active_parameters", "open_weights",
    "license", "input", "output", "context_window", "capabilities", "techniques", "sources", "notes", "aliases",
    "url", "notes_url",
]


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def to_csv(columns: list[str], records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([csv_value(record.get(column)) for column in columns])
    return out.getvalue()


def models_csv(state: dict) -> str:
    records = []
    for model in newest_first(state["models"]):
        record = model_record(state, model)
        sides = model.get("modalities") or {}
        record.update(input=sides.get("input"), output=sides.get("output"))
        records.append(record)
    return to_csv(CSV_MODEL_COLUMNS, records)


def modifiers_json(state: dict) -> str:
    data = {
        "title": "AI notes image-prompt modifiers",
        "source": "notes/data/image_prompt_modifiers.yaml",
        "count": len(state["modifiers"]),
        "works_with": {WORKS_WITH_ANY: "plain language, not specific to a model family", **WORKS_WITH_FAMILIES},
        "modifiers": state["modifiers"],
    }
    return json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n"


def modifiers_csv(state: dict) -> str:
    return to_csv(["term", "category", "effect", "example", "works_with", "source"], state["modifiers"])


def data_files(state: dict) -> dict[str, str]:
    """The catalog data as files beside its pages (the schema's GENERATED_DATA_FILES), for download and for
    agents (llms.txt links them)."""
    writers = {"models.json": models_json, "models.csv": models_csv,
               "image-prompt-modifiers.json": modifiers_json, "image-prompt-modifiers.csv": modifiers_csv}
    return {path: writers[posixpath.basename(path)](state) for path in GENERATED_DATA_FILES}
