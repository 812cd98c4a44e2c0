"""The mirror's layout families render the markup they name (outlet-anatomy.md sections 4, 7, 8),
``mixed`` draws a family per article from the seed, and bad names are refused."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from qiosk_scraper.cli import main
from qiosk_scraper.mirror import MirrorError, Site
from qiosk_scraper.mirror.layouts import FAMILIES
from qiosk_scraper.mirror.model import Meta

BASE = "https://responsiblestatecraft.org"
Page = lxml.html.HtmlElement


def _page(layout: str, era: str = "rebelmouse") -> tuple[Page, Meta, Site]:
    """The page of an article with tags and a lead image with a credit."""
    site = Site(articles=60, seed=5, layout=layout, era=era)
    meta = next(
        m for m in site.order if m.lead is not None and m.lead.credit_text and len(m.tags) > 1
    )
    return lxml.html.fromstring(site.respond(meta.path, BASE).body), meta, site


def _ld_texts(page: Page) -> list[str]:
    return [s.text or "" for s in page.xpath('//script[@type="application/ld+json"]')]


def _ld(page: Page) -> object:
    text = _ld_texts(page)[0].replace("<![CDATA[", "").replace("]]>", "")
    return json.loads(text)


def _meta(page: Page, name: str) -> list[str]:
    return page.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content')


BODY = "//div[contains(@class, 'body-description')]"
HERO = "//div[@class='widget__image']"


def _post(meta: Meta) -> str:
    return f"//article[@elid='{meta.post_id}']"


def _split(page: Page, meta: Meta) -> bool:
    copies = page.xpath(_post(meta))
    if len(copies) != 2:
        return False
    head, rest = copies
    return (
        bool(head.xpath("ancestor::div[contains(@class, 'main-post-head')]"))
        and bool(head.xpath(".//h1"))
        and not head.xpath(".//*[contains(@class, 'body-description')]")
        and not rest.xpath(".//h1")
        and bool(rest.xpath(".//img[@class='rm-hero-media']"))
        and bool(rest.xpath(".//div[@class='photo-credit']"))
        and _ld_texts(page)[0].startswith("<![CDATA[")
        and not _meta(page, "article:tag")
        and _meta(page, "keywords") == [", ".join(meta.tags)]
    )


def _only_json_ld_tags(page: Page, meta: Meta) -> bool:
    visible = page.xpath("//*[contains(@class, 'tags')]//a[contains(@href, '/tag/')]")
    return not _meta(page, "article:tag") and not visible and not _meta(page, "keywords")


def _no_tag_markup(page: Page) -> bool:
    return not _meta(page, "article:tag") and not page.xpath("//*[contains(@class, 'post-tags')]")


def _no_photo_credit(page: Page, meta: Meta) -> bool:
    return not page.xpath(f"{_post(meta)}//div[@class='photo-credit']")


def _og_crop(page: Page, meta: Meta) -> bool:
    assert meta.lead is not None
    og = _meta(page, "og:image")[0]
    return og != BASE + meta.lead.src and f"id={meta.lead.image_id}&" in og


def _figcaptions(page: Page, meta: Meta) -> bool:
    hero = page.xpath("//figure[.//img[@class='rm-hero-media']]/figcaption")
    inline = page.xpath(f"{BODY}//figure/figcaption") or "inbody_image" not in meta.flags
    return bool(hero) and bool(inline)


CHECKS: dict[str, Callable[[Page, Meta], bool]] = {
    "single": lambda p, m: len(p.xpath(_post(m))) == 1 and bool(_meta(p, "article:tag")),
    "split": _split,
    "jsonld-cdata": lambda p, m: (
        _ld_texts(p)[0].startswith("<![CDATA[") and _only_json_ld_tags(p, m)
    ),
    "jsonld-graph": lambda p, m: "@graph" in str(_ld(p)) and _only_json_ld_tags(p, m),
    "jsonld-array": lambda p, m: isinstance(_ld(p), list) and _only_json_ld_tags(p, m),
    "jsonld-none": lambda p, m: not _ld_texts(p),
    "tags-keywords": lambda p, m: _meta(p, "keywords") == [", ".join(m.tags)] and _no_tag_markup(p),
    "tags-other": lambda p, m: len(p.xpath("//a[@rel='tag']")) == len(m.tags) and _no_tag_markup(p),
    "credit-photo": lambda p, m: bool(p.xpath(f"{HERO}/div[@class='photo-credit']")),
    "credit-small": lambda p, m: (
        bool(p.xpath(f"{HERO}/small[contains(@class, 'photo-credit')]")) and _no_photo_credit(p, m)
    ),
    "credit-figcaption": _figcaptions,
    "credit-line": lambda p, m: (
        "Top image credit:" in p.xpath(f"string({BODY})") and _no_photo_credit(p, m)
    ),
    "og-crop": _og_crop,
    "promo": lambda p, m: (
        "ALSO READ:" in p.xpath(f"string({BODY})")
        and bool(p.xpath(f"{BODY}//blockquote[@class='twitter-tweet']"))
    ),
}


def test_every_family_has_a_check() -> None:
    assert sorted(CHECKS) == sorted(FAMILIES)


@pytest.mark.parametrize("layout", sorted(FAMILIES))
def test_each_family_renders_its_markup(layout: str) -> None:
    page, meta, _ = _page(layout)
    assert CHECKS[layout](page, meta)
    # a family is not the single layout in disguise: the single layout fails its check
    single, single_meta, _ = _page("single")
    assert layout == "single" or not CHECKS[layout](single, single_meta)


def test_the_wordpress_era_serves_date_paths_in_the_wordpress_template() -> None:
    page, _, site = _page("single", era="wordpress")
    assert all(re.match(r"^/\d{4}/\d\d/\d\d/[a-z0-9-]+/$", m.path) for m in site.order)
    assert site.redirects == {"/feed/": "/feeds/feed.rss", "/feed": "/feeds/feed.rss"}
    assert page.xpath("//h1[@class='entry-title']") and page.xpath("//div[@class='entry-content']")
    assert page.xpath("//span[@class='author vcard']") and page.xpath("//a[@rel='tag']")
    assert page.xpath("//time[@class='entry-date published']/@datetime")
    assert "@graph" in _ld(page)  # type: ignore[operator]
    assert not page.xpath("//*[contains(@class, 'post-partial')]")


def test_mixed_draws_a_family_per_article_from_the_seed() -> None:
    one, again, other = (Site(layout="mixed", seed=s) for s in (1, 1, 2))
    families = [m.layout for m in one.order]
    assert families == [m.layout for m in again.order]
    assert families != [m.layout for m in other.order]
    assert len(Counter(families)) >= 10 and set(families) <= set(FAMILIES)


def test_the_default_is_the_single_layout() -> None:
    site = Site()
    assert {m.layout for m in site.order} == {"single"}
    assert site.respond(site.order[3].path, BASE).body == (
        Site(layout="single").respond(site.order[3].path, BASE).body
    )


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"layout": "nope"}, "layout='nope'"), ({"era": "x"}, "era='x'")]
)
def test_unknown_layouts_and_eras_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(MirrorError, match=re.escape(message)):
        Site(**kwargs)  # type: ignore[arg-type]


def test_build_command_takes_a_layout_and_an_era(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["mirror", "build", str(tmp_path / "x"), "--layout", "nope"])
    assert bad.exit_code == 2 and "'nope' is not one of" in bad.output
    out = tmp_path / "wp"
    command = ["mirror", "build", str(out), "--articles", "60", "--era", "wordpress"]
    done = runner.invoke(main, command)
    assert done.exit_code == 0, done.output
    gold = [json.loads(p.read_text(encoding="utf-8")) for p in (out / "gold").glob("*.json")]
    assert len(gold) == 60 and all(re.search(r"/\d{4}/\d\d/\d\d/", g["url"]) for g in gold)
