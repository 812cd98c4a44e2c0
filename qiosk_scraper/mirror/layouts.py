"""Layout families: the ways the outlet's CMS may render one article (outlet-anatomy.md sections
4, 7 and 8). The gold record of an article is the same in every family, except what a family
genuinely adds to the text (the embedded tweet of ``promo``).

A Site renders every article in one family (``layout="single"``, today's single block, is the
default), or picks a family per article from its seed (``layout="mixed"``). ``era="wordpress"``
serves the whole site as an old capture: every article at its legacy date path in the WordPress
template (``wordpress``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """Rendering choices of one family."""

    name: str
    split: bool = False  # the post rendered twice: head block (h1, byline), body block (hero, body)
    json_ld: str = (
        "rotate"  # rotate (object/array/@graph by index), object, array, graph, cdata, none
    )
    tags: str = "links"  # links: tag links + article:tag; keywords: meta/JSON-LD keywords only;
    # jsonld: JSON-LD keywords only; other: visible links under other class names, no meta
    credit: str = "model"  # model: as the article says; photo-credit, small, figcaption, line
    og_crop: bool = False  # og:image (and JSON-LD image) another crop of the hero
    promo: bool = False  # "ALSO READ:" lines and an embedded tweet inside the body
    section_meta: bool = True  # article:section meta


FAMILIES: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("single"),
        Layout(
            "split",
            split=True,
            json_ld="cdata",
            tags="keywords",
            credit="photo-credit",
            og_crop=True,
            promo=True,
            section_meta=False,
        ),
        Layout("jsonld-cdata", json_ld="cdata", tags="jsonld"),
        Layout("jsonld-graph", json_ld="graph", tags="jsonld"),
        Layout("jsonld-array", json_ld="array", tags="jsonld"),
        Layout("jsonld-none", json_ld="none"),
        Layout("tags-keywords", tags="keywords", section_meta=False),
        Layout("tags-other", tags="other"),
        Layout("credit-photo", credit="photo-credit"),
        Layout("credit-small", credit="small"),
        Layout("credit-figcaption", credit="figcaption"),
        Layout("credit-line", credit="line"),
        Layout("og-crop", og_crop=True),
        Layout("promo", promo=True),
    )
}
WORDPRESS = "wordpress"
MIXED = "mixed"
LAYOUT_NAMES = (*FAMILIES, MIXED)
ERAS = ("rebelmouse", WORDPRESS)


def family_of(layout: str, seed: int, index: int) -> str:
    """The family an article is rendered in: ``layout`` itself, or under ``mixed`` one drawn
    from ``(seed, index)``."""
    if layout != MIXED:
        return layout
    names = sorted(FAMILIES)
    return names[random.Random(f"layout:{seed}:{index}").randrange(len(names))]
