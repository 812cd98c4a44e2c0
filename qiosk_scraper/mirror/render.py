# ruff: noqa: E501 - HTML templates read better unwrapped
"""HTML, XML and JSON of the mirror's pages, in RebelMouse's markup conventions (outlet-anatomy.md
section 4) with the outlet's boilerplate (section 5)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from qiosk_scraper.mirror import vocab
from qiosk_scraper.mirror.body import (
    attr,
    esc,
    inline_text,
    iso_offset,
    json_script,
    render_body,
)
from qiosk_scraper.mirror.layouts import FAMILIES, WORDPRESS, Layout
from qiosk_scraper.mirror.model import NEW_YORK, PAGE_SIZE, SITEMAP_SIZE, Meta

if TYPE_CHECKING:
    from qiosk_scraper.mirror.site import Listing, Site

GOOGLE_SOURCE = "https://www.google.com/preferences/source?q=responsiblestatecraft.org"
CTA_IMG = "/media-library/google-cta.png?id=50201001&width=600&quality=90"
LOGO_IMG = "/media-library/rs-logo.png?id=50201000&width=300&quality=90"


# ---------------------------------------------------------------------------- dates
def date_form(meta: Meta, now: datetime) -> str:
    if now - meta.published < timedelta(hours=24):
        return "relative"
    if meta.features & {"legacy_in_place", "legacy_redirect"}:
        return "long"
    return "short"


def shown_date(meta: Meta, now: datetime) -> str:
    form = date_form(meta, now)
    if form == "relative":
        minutes = int((now - meta.published).total_seconds() // 60)
        return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h"
    local = meta.published.astimezone(NEW_YORK)
    return f"{local:%B %d, %Y}" if form == "long" else f"{local:%b %d, %Y}"


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


# ---------------------------------------------------------------------------- page frame
def _header() -> str:
    types = "".join(f'<li><a href="{s.path}">{s.label}</a></li>' for s in vocab.TYPES[:2])
    regions = "".join(f'<li><a href="{s.path}">{s.label}</a></li>' for s in vocab.REGIONS)
    topics = "".join(f'<li><a href="{s.path}">{s.label}</a></li>' for s in vocab.TOPICS)
    more = "".join(f'<li><a href="{s.path}">{s.label}</a></li>' for s in vocab.TYPES[2:])
    return f"""<div class="rebelmouse-header"><header class="header">
<div class="topbar"><a class="topbar__logo" href="/"><img src="{attr(LOGO_IMG)}" alt="{vocab.SITE_NAME}" width="300" height="60"/></a></div>
<nav class="main-menu"><ul class="main-menu__list">
{types}<li><a href="{vocab.QIOSK.path}">QiOSK</a></li>
<li class="main-menu__dropdown"><span>Regions</span><ul>{regions}</ul></li>
<li class="main-menu__dropdown"><span>Topics</span><ul>{topics}{more}</ul></li>
<li><a href="/about/">About</a></li>
</ul></nav>
<div class="follow-us"><span class="follow-us__title">Follow us on social</span>
<a class="follow-us__link" href="https://twitter.com/RStatecraft" target="_blank">X</a>
<a class="follow-us__link" href="https://www.facebook.com/ResponsibleStatecraft/" target="_blank">Facebook</a>
<a class="follow-us__link" href="https://www.youtube.com/@ResponsibleStatecraft" target="_blank">YouTube</a></div>
</header></div>
<div class="google-cta-container"><a href="{GOOGLE_SOURCE}" target="_blank" rel="noopener"><img src="{attr(CTA_IMG)}" alt="google cta" width="300" height="50"/></a></div>"""


def _sidebar() -> str:
    return f"""<aside class="sidebar">
<div class="sidebar-block sidebar-latest"><h3 class="sidebar-block__title">LATEST</h3>
<div class="posts-custom section-holder" data-has-more="true" data-source="section_{vocab.HOME_SECTION_ID}" data-section-id="{vocab.HOME_SECTION_ID}"></div></div>
<div class="sidebar-block sidebar-qiosk"><h3 class="sidebar-block__title">QIOSK</h3>
<div class="posts-custom section-holder" data-has-more="true" data-source="{vocab.QIOSK.resource_id}" data-section-id="{vocab.QIOSK.section_id}"></div></div>
<div class="ad-tag"><div class="rblad-rs_sidebar_1"></div></div>
<div class="newsletter-box"><h3 class="newsletter-box__title">Newsletter</h3>
<p class="newsletter-box__text">Subscribe now to our weekly round-up of news and analysis.</p>
<form class="newsletter-box__form" action="#" method="post"><input type="email" name="email" placeholder="Email address"/><button type="submit">Sign up</button></form></div>
</aside>"""


def _footer() -> str:
    return """<footer class="footer">
<div class="footer__links"><a href="/about/">About</a> <a href="/feed/">RSS</a></div>
<div class="regwall-container" style="display:none"></div>
<p class="footer__copyright">© 2025 Responsible Statecraft. All rights reserved.</p>
</footer>"""


def page(
    *,
    title: str,
    canonical: str | None,
    head: str,
    main: str,
    bootstrap: dict[str, Any],
    body_class: str,
    base: str,
) -> str:
    canonical_tag = f'<link rel="canonical" href="{attr(canonical)}"/>\n' if canonical else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{esc(title)}</title>
{canonical_tag}<link rel="alternate" type="application/rss+xml" title="{vocab.SITE_NAME}" href="{base}/feeds/feed.rss"/>
<meta property="og:site_name" content="{vocab.SITE_NAME}"/>
<meta name="twitter:site" content="@RStatecraft"/>
{head}
<script>window.REBELMOUSE_BOOTSTRAP_DATA = {json_script(bootstrap)};</script>
</head>
<body class="{body_class}">
{_header()}
<div class="layout">
<main class="main">
{main}
</main>
{_sidebar()}
</div>
{_footer()}
</body>
</html>
"""


def _bootstrap(resource_id: str, path: str, page_type: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "siteId": vocab.SITE_ID,
        "site": {"id": vocab.SITE_ID, "name": vocab.SITE_NAME},
        "resourceId": resource_id,
        "pageType": page_type,
        "path": path,
    }
    data.update(extra)
    return data


# ---------------------------------------------------------------------------- pieces
def label_html(meta: Meta, extra_class: str = "") -> str:
    t = vocab.SECTION_BY_KEY[meta.type_key]
    s = vocab.SECTION_BY_KEY[meta.primary]
    return (
        f'<div class="widget__section-label{extra_class}">'
        f'<a class="widget__section" href="{t.path}">{t.label}</a>'
        f'<span class="widget__section-separator"> | </span>'
        f'<a class="widget__section" href="{s.path}">{s.label}</a></div>'
    )


def _hero(meta: Meta, base: str, family: Layout = FAMILIES["single"]) -> str:
    """The lead image and, when it sits by the image, its credit in the family's markup."""
    lead = meta.lead
    if lead is None:
        return ""
    small = lead.src.replace("width=1200&height=800", "width=600&height=400")
    credit = ""
    text = lead.credit_text if lead.placement == "hero" else None
    if text and family.credit == "small":
        credit = (
            f'\n<small class="image-media media-caption">{esc(lead.caption or "")}</small>'
            f'<small class="image-media media-photo-credit">{esc(lead.credit or "")}</small>'
        )
    elif text and family.credit != "figcaption":
        credit = f'\n<div class="photo-credit">{esc(text)}</div>'
    picture = f'<picture><source media="(min-width: 768px)" srcset="{attr(base + lead.src)}"/><source media="(max-width: 767px)" srcset="{attr(base + small)}"/><img class="rm-hero-media" src="{attr(lead.src)}" alt="{attr(lead.alt)}" width="1200" height="800" fetchpriority="high"/></picture>'
    if family.credit == "figcaption":
        caption = f"<figcaption>{esc(text)}</figcaption>" if text else ""
        return f"""<div class="widget__head"><figure class="widget__image">
{picture}{caption}
</figure></div>"""
    return f"""<div class="widget__head"><div class="widget__image">
{picture}{credit}
</div></div>"""


def og_crop(src: str) -> str:
    """Another crop of the same media-library asset (same id, other size and coordinates)."""
    return src.replace("width=1200&height=800", "width=1245&height=700&coordinates=0%2C62%2C0%2C63")


def _byline(meta: Meta, now: datetime) -> str:
    authors = []
    for p in meta.authors:
        href = f' href="/author/{p.username}/"' if p.username else ""
        authors.append(
            f'<div class="social-author"><a class="social-author__name"{href}>{esc(p.name)}</a></div>'
        )
    names = ", ".join(p.name for p in meta.authors)
    modified = ""
    if meta.modified:
        local = meta.modified.astimezone(NEW_YORK)
        modified = (
            '<div class="social-date-modified"><span class="social-date-modified__text">'
            f"Updated {local:%b %d, %Y}</span></div>"
        )
    return (
        '<div class="widget__byline">'
        + "".join(authors)
        + f'<span class="rm-stats-tracked" data-authors="{attr(names)}" data-post-id="{meta.post_id}"></span>'
        + f'<div class="social-date"><span class="social-date__text">{shown_date(meta, now)}</span></div>'
        + modified
        + "</div>"
    )


def _shares(meta: Meta, url: str) -> str:
    from urllib.parse import quote

    u = quote(url, safe="")
    return (
        '<div class="widget__shares">'
        f'<a class="share-twitter" href="https://twitter.com/intent/tweet?url={u}" target="_blank" aria-label="Share on X"><span class="rm-icon rm-icon-x"></span></a>'
        f'<a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={u}" target="_blank" aria-label="Share on Facebook"><span class="rm-icon rm-icon-facebook"></span></a>'
        f'<a class="share-email" href="mailto:?subject={quote(meta.title)}&amp;body={u}" aria-label="Email"><span class="rm-icon rm-icon-email"></span></a>'
        "</div>"
    )


def _tags_html(meta: Meta, family: Layout = FAMILIES["single"]) -> str:
    if not meta.tags or family.tags in ("keywords", "jsonld"):
        return ""
    if family.tags == "other":
        items = "".join(
            f'<li><a class="tag-link" rel="tag" href="/tag/{vocab.tag_slug(t)}/">{esc(t)}</a></li>'
            for t in meta.tags
        )
        return f'<div class="post-topics"><span class="post-topics__title">Topics</span><ul class="topic-list">{items}</ul></div>'
    links = "".join(
        f'<a class="tags-primary-link" href="/tag/{vocab.tag_slug(t)}/">{esc(t)}</a>'
        for t in meta.tags
    )
    return f'<div class="post-tags-primary">{links}</div>'


def _author_bios(meta: Meta) -> str:
    items = "".join(
        f'<div class="post-author-list__item"><span class="post-author-list__name">{esc(p.name)}</span>'
        f'<div class="social-author__bio">{esc(p.name)} {esc(p.bio)}</div></div>'
        for p in meta.authors
    )
    return f'<div class="post-author-list">{items}</div>'


def _first_paragraphs(site: Site, meta: Meta, n: int) -> list[str]:
    paras = [b for b in site.body(meta.index) if b.kind == "p"]
    return [inline_text(b.inlines) for b in paras[:n]]


def stream_card(site: Site, meta: Meta, base: str) -> str:
    """A teaser in a stream: image, "Top image credit" line, headline, label, one or two
    paragraphs, then the "keep reading" / "Show less" expander."""
    url = meta.path if meta.index % 2 else base + meta.path
    image = ""
    if meta.lead is not None:
        image = (
            f'<div class="widget__head"><a class="widget__img-link" href="{attr(url)}"><picture>'
            f'<img class="rm-lazyloadable-image" src="{attr(meta.lead.src)}" alt="{attr(meta.lead.alt)}" loading="lazy" width="600" height="400"/>'
            "</picture></a></div>"
        )
        if meta.lead.credit_text:
            image += f'<div class="photo-credit">{esc(meta.lead.credit_line or "")}</div>'
    paras = _first_paragraphs(site, meta, 2)
    brief = f'<div class="widget__brief"><p>{esc(paras[0])}</p></div>' if paras else ""
    more = (
        f'<div class="js-appear-on-expand"><p>{esc(paras[1])}</p></div>' if len(paras) > 1 else ""
    )
    return f"""<div class="widget post-partial" data-category="{meta.primary}">
<article class="post-{meta.post_id}" elid="{meta.post_id}">{image}
<div class="widget__body"><h2 class="widget__headline h3"><a class="widget__headline-text custom-post-headline" href="{attr(url)}">{esc(meta.title)}</a></h2>
{label_html(meta)}
{brief}{more}
<div class="widget__show-more js-keep-reading"><span class="show-more">keep reading</span><span class="show-less">Show less</span></div>
</div></article></div>"""


def tag_card(meta: Meta, base: str) -> str:
    """A teaser on a tag page: optional image, optional section, headline, dek; no expander."""
    image = ""
    if meta.lead is not None:
        image = (
            f'<div class="widget__head"><a href="{attr(meta.path)}"><img class="rm-lazyloadable-image" '
            f'src="{attr(meta.lead.src)}" alt="{attr(meta.lead.alt)}" loading="lazy"/></a></div>'
        )
    section = ""
    if meta.index % 4:
        s = vocab.SECTION_BY_KEY[meta.primary]
        section = f'<a class="widget__section" href="{s.path}">{s.label}</a>'
    dek = f'<div class="widget__subheadline"><p>{esc(meta.dek)}</p></div>' if meta.dek else ""
    return f"""<div class="widget post-partial" data-category="{meta.primary}">
<article class="post-{meta.post_id}" elid="{meta.post_id}">{image}
<div class="widget__body">{section}<h2 class="widget__headline"><a class="widget__headline-text custom-post-headline" href="{attr(base + meta.path)}">{esc(meta.title)}</a></h2>
{dek}</div></article></div>"""


# ---------------------------------------------------------------------------- article
def _json_ld(
    site: Site,
    meta: Meta,
    base: str,
    og_image: str | None,
    canonical: str,
    family: Layout = FAMILIES["single"],
) -> str:
    if family.json_ld == "none":
        return ""
    fmt = iso_z if meta.index % 2 == 0 else iso_offset
    authors = []
    for p in meta.authors:
        person: dict[str, Any] = {"@type": "Person", "name": p.name}
        if p.username:
            person["url"] = f"{base}/author/{p.username}/"
        authors.append(person)
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "url": canonical,
        "headline": meta.title,
        "datePublished": fmt(meta.published),
        "dateModified": fmt(meta.last_change),
        "author": authors,
        "publisher": {
            "@type": "Organization",
            "name": vocab.SITE_NAME,
            "logo": {"@type": "ImageObject", "url": base + LOGO_IMG},
        },
        "articleSection": meta.section_label,
        "keywords": ", ".join(meta.tags) if meta.index % 2 else list(meta.tags),
    }
    if family.tags == "keywords":
        article["keywords"] = ", ".join(meta.tags)
    elif family.tags == "other":
        del article["keywords"]
    if meta.dek:
        article["description"] = meta.dek
    if og_image:
        article["image"] = {"@type": "ImageObject", "url": og_image, "width": 1200, "height": 800}
    shapes = {"object": 0, "array": 1, "graph": 2}
    shape = shapes.get(family.json_ld, meta.index % 3)
    data: Any
    if shape == 0:
        data = article
    elif shape == 1:
        crumbs = {
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "Home", "item": base + "/"},
                {
                    "@type": "ListItem",
                    "position": 2,
                    "name": meta.section_label,
                    "item": base + vocab.SECTION_BY_KEY[meta.primary].path,
                },
            ],
        }
        data = [article, crumbs]
    else:
        del article["@context"]
        data = {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebSite", "name": vocab.SITE_NAME, "url": base + "/"},
                article,
            ],
        }
    if family.json_ld == "cdata":
        return f'<script type="application/ld+json"><![CDATA[ {json_script(data)} ]]></script>'
    return f'<script type="application/ld+json">{json_script(data)}</script>'


def _description(site: Site, meta: Meta) -> str:
    """The description meta: the dek, else the start of the first paragraph."""
    if meta.dek is not None:
        return meta.dek
    first = _first_paragraphs(site, meta, 1)
    return first[0][:157] + "..." if first and len(first[0]) > 160 else (first or [""])[0]


def _article_head(
    site: Site, meta: Meta, base: str, canonical: str, family: Layout, og_image: str | None
) -> str:
    description = _description(site, meta)
    tags_meta = ""
    if family.tags == "links":
        tags_meta = "".join(
            f'<meta property="article:tag" content="{attr(t)}"/>\n' for t in meta.tags
        )
    elif family.tags == "keywords" and meta.tags:
        tags_meta = f'<meta name="keywords" content="{attr(", ".join(meta.tags))}"/>\n'
    section_meta = (
        f'<meta property="article:section" content="{attr(meta.section_label)}"/>\n'
        if family.section_meta
        else ""
    )
    return f"""<meta name="description" content="{attr(description)}"/>
<meta property="og:type" content="article"/>
<meta property="og:title" content="{attr(meta.title)}"/>
<meta property="og:description" content="{attr(description)}"/>
<meta property="og:url" content="{attr(canonical)}"/>
{f'<meta property="og:image" content="{attr(og_image)}"/>' if og_image else ""}
<meta property="article:published_time" content="{iso_offset(meta.published)}"/>
<meta property="article:modified_time" content="{iso_offset(meta.last_change)}"/>
{section_meta}{tags_meta}<meta name="twitter:card" content="summary_large_image"/>
{_json_ld(site, meta, base, og_image, canonical, family)}"""


def _pager(site: Site, meta: Meta) -> str:
    newer, older = site.neighbours(meta)
    pager = '<div class="post-pager">'
    if older is not None:
        pager += f'<a class="post-pager__prev" href="{older.path}">Previous</a>'
    if newer is not None:
        pager += f'<a class="post-pager__next" href="{newer.path}">Next</a>'
    return pager + "</div>"


def _post(meta: Meta, inner: str, extra: str = "") -> str:
    return f"""<div class="widget post-partial" data-category="{meta.primary}">
<article class="page-article post-{meta.post_id}" elid="{meta.post_id}">
{inner}
</article>
</div>{extra}"""


def _post_html(site: Site, meta: Meta, base: str, canonical: str, family: Layout) -> str:
    """The post: one block (hero, headline ... body), or under ``split`` two copies of the
    post, the first with the headline and byline, the second with the hero and the body."""
    dek = f'<h2 class="widget__subheadline-text h2">{esc(meta.dek)}</h2>' if meta.dek else ""
    headline = f"""<h1 class="widget__headline h1"><a class="widget__headline-text" href="{attr(canonical)}">{esc(meta.title)}</a></h1>
{dek}
{label_html(meta)}
{_byline(meta, site.now)}
{_shares(meta, canonical)}"""
    body = f"""<div class="body js-expandable"><div class="body-description">
{render_body(site.body(meta.index), base, family.credit == "figcaption")}
</div></div>
{_tags_html(meta, family)}
{_author_bios(meta)}
<div class="around-the-web"></div>
{_pager(site, meta)}"""
    if not family.split:
        inner = f"""{_hero(meta, base, family)}
<div class="widget__body">
{headline}
{body}
</div>"""
        return _post(meta, inner)
    head = _post(meta, f'<div class="widget__body">\n{headline}\n</div>')
    rest = _post(meta, f'{_hero(meta, base, family)}\n<div class="widget__body">\n{body}\n</div>')
    return (
        f'<div class="post-head main-post-head">\n{head}\n</div>\n'
        f'<div class="post-head post-body">\n{rest}\n</div>'
    )


def article_page(site: Site, meta: Meta, base: str, canonical: str | None = None) -> str:
    """The article's page in its layout family; ``canonical`` (default: its own URL) is the URL
    the page names as canonical (rel=canonical, og:url, JSON-LD, headline and share links)."""
    canonical = canonical or base + meta.path
    if meta.layout == WORDPRESS:
        from qiosk_scraper.mirror.wordpress import wordpress_page

        return wordpress_page(site, meta, base, canonical, _description(site, meta))
    family = FAMILIES[meta.layout]
    og_image = None
    if meta.lead is not None:
        src = og_crop(meta.lead.src) if family.og_crop else meta.lead.src
        og_image = (meta.lead.og_host or base) + src
    stream = "\n".join(stream_card(site, m, base) for m in site.stream_for(meta))
    section = vocab.SECTION_BY_KEY[meta.primary]
    main = f"""{_post_html(site, meta, base, canonical, family)}
<div class="ad-tag"><div class="rblad-rs_below_article"></div></div>
{label_html(meta, " post-footer-label")}
<div class="posts-custom section-holder" data-has-more="true" data-source="{section.resource_id}" data-section-id="{section.section_id}">
{stream}
</div>
<div class="google-preferred-source"><p>Want more of our stories on Google?</p>
<a href="{GOOGLE_SOURCE}" target="_blank"><img src="{attr(CTA_IMG)}" alt="google cta" width="300" height="50"/><span>Click here to make us a Preferred Source.</span></a></div>"""
    bootstrap = _bootstrap(
        f"post_{meta.post_id}", meta.path, "post", postId=meta.post_id, sectionId=section.section_id
    )
    return page(
        title=f"{meta.title} - {vocab.SITE_NAME}",
        canonical=canonical,
        head=_article_head(site, meta, base, canonical, family, og_image),
        main=main,
        bootstrap=bootstrap,
        body_class="body--post",
        base=base,
    )


# ---------------------------------------------------------------------------- listings
def _listing_head(listing: Listing, base: str, canonical: str, description: str) -> str:
    feed = ""
    if listing.kind == "section":
        s = vocab.SECTION_BY_KEY[listing.key]
        feed = f'<link rel="alternate" type="application/rss+xml" title="{attr(s.label)}" href="{base}{s.feed_path}"/>\n'
    return (
        f'{feed}<meta name="description" content="{attr(description)}"/>\n'
        f'<meta property="og:type" content="website"/>\n'
        f'<meta property="og:title" content="{attr(listing.label)}"/>\n'
        f'<meta property="og:url" content="{attr(canonical)}"/>'
    )


def listing_page(site: Site, listing: Listing, items: list[Meta], base: str, page_no: int) -> str:
    shown = items[:PAGE_SIZE]
    has_more = "true" if len(items) > PAGE_SIZE else "false"
    cards = "\n".join(stream_card(site, m, base) for m in shown)
    canonical = base + listing.path
    heading = ""
    if listing.kind == "section":
        heading = f'<h1 class="section-title">{esc(listing.label)}</h1>'
    elif listing.kind == "author":
        person = next(p for p in vocab.AUTHORS if p.username == listing.key)
        heading = (
            f'<div class="author-profile"><h1 class="author-profile__name">{esc(person.name)}</h1>'
            f'<div class="social-author__bio">{esc(person.name)} {esc(person.bio)}</div></div>'
        )
    main = f"""{heading}
<div class="posts-custom section-holder" data-has-more="{has_more}" data-source="{listing.resource_id}" data-section-id="{listing.section_id}">
{cards}
</div>"""
    title = vocab.SITE_NAME if listing.kind == "home" else f"{listing.label} - {vocab.SITE_NAME}"
    return page(
        title=title,
        canonical=canonical,
        head=_listing_head(listing, base, canonical, f"{listing.label} at {vocab.SITE_NAME}"),
        main=main,
        bootstrap=_bootstrap(listing.resource_id, listing.path, listing.kind, pageNumber=page_no),
        body_class=f"body--{listing.kind}",
        base=base,
    )


def tag_page(
    site: Site, listing: Listing, items: list[Meta], base: str, page_no: int, pages: int
) -> str:
    shown = items[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
    has_more = "true" if page_no < pages else "false"
    path = listing.path if page_no == 1 else f"{listing.path}page/{page_no}/"
    canonical = base + path
    cards = "\n".join(tag_card(m, base) for m in shown)
    nav = []
    if page_no > 1:
        prev_path = listing.path if page_no == 2 else f"{listing.path}page/{page_no - 1}/"
        nav.append(f'<a class="prev page-numbers" rel="prev" href="{prev_path}">Previous</a>')
    if page_no < pages:
        nav.append(
            f'<a class="next page-numbers" rel="next" href="{listing.path}page/{page_no + 1}/">Next</a>'
        )
    empty = "" if shown else '<p class="no-results">No posts found.</p>'
    main = f"""<h1 class="tag-title">{esc(listing.label)}</h1>
<div class="posts-custom section-holder" data-has-more="{has_more}" data-source="{listing.resource_id}" data-section-id="{listing.section_id}">
{cards}{empty}
</div>
<nav class="pagination">{"".join(nav)}</nav>"""
    return page(
        title=f"{listing.label} - {vocab.SITE_NAME}",
        canonical=canonical,
        head=_listing_head(listing, base, canonical, f"Stories tagged {listing.label}"),
        main=main,
        bootstrap=_bootstrap(listing.resource_id, path, "tag", pageNumber=page_no),
        body_class="body--tag",
        base=base,
    )


def about_page(site: Site, base: str) -> str:
    main = """<div class="static-page"><h1>About</h1>
<p>This is a local imitation of an online magazine about foreign policy, served for testing.
Its articles are generated from invented word lists.</p></div>"""
    return page(
        title=f"About - {vocab.SITE_NAME}",
        canonical=base + "/about/",
        head='<meta name="description" content="About this site"/>',
        main=main,
        bootstrap=_bootstrap("page_about", "/about/", "page"),
        body_class="body--page",
        base=base,
    )


def not_found_page(site: Site, base: str, path: str, gone: bool = False) -> str:
    heading = "This story has been removed" if gone else "Page not found"
    main = f"""<div class="error-page"><h1>{heading}</h1>
<p>Sorry, we couldn’t find <code>{esc(path)}</code>. Try the <a href="/">home page</a>.</p></div>"""
    return page(
        title=f"{heading} - {vocab.SITE_NAME}",
        canonical=None,
        head='<meta name="robots" content="noindex"/>',
        main=main,
        bootstrap=_bootstrap("error_404", path, "error"),
        body_class="body--error",
        base=base,
    )


# ---------------------------------------------------------------------------- feeds
def rss(site: Site, base: str, items: list[Meta], title: str, link: str, feed_path: str) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        "<channel>\n"
        f"<title>{esc(title)}</title>\n<link>{base}{link}</link>\n"
        f'<atom:link href="{base}{feed_path}" rel="self" type="application/rss+xml"/>\n'
        "<description>Foreign policy news and analysis</description>\n<language>en</language>\n"
        f"<lastBuildDate>{http_date(items[0].last_change if items else site.now)}</lastBuildDate>\n"
    ]
    for m in items:
        categories = "".join(
            f"<category>{esc(c)}</category>" for c in (m.type_label, m.section_label, *m.tags)
        )
        media = f'<media:content url="{attr(base + m.lead.src)}" medium="image"/>' if m.lead else ""
        description = esc(m.dek or "")
        out.append(
            f"<item><title>{esc(m.title)}</title><link>{base}{m.path}</link>"
            f'<guid isPermaLink="false">{m.post_id}</guid><pubDate>{http_date(m.published)}</pubDate>'
            f"<dc:creator>{esc(', '.join(p.name for p in m.authors))}</dc:creator>"
            f"{categories}<description>{description}</description>{media}</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def robots(base: str) -> str:
    return (
        "User-agent: *\nDisallow: /core/\nDisallow: /r/\nDisallow: /mnt/\n\n"
        f"Sitemap: {base}/sitemap.xml\n"
    )


def sitemap_index(site: Site, base: str) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    ]
    for n in range(1, site.sitemap_pages() + 1):
        chunk = site.order[(n - 1) * SITEMAP_SIZE : n * SITEMAP_SIZE]
        last = max(m.last_change for m in chunk)
        out.append(
            f"<sitemap><loc>{base}/feeds/sitemaps/sitemap_{n}.xml</loc>"
            f"<lastmod>{iso_offset(last)}</lastmod></sitemap>\n"
        )
    out.append(
        f"<sitemap><loc>{base}/feeds/sitemaps/news_1.xml</loc>"
        f"<lastmod>{iso_offset(site.order[0].last_change)}</lastmod></sitemap>\n"
    )
    out.append("</sitemapindex>\n")
    return "".join(out)


def sitemap_child(
    site: Site, base: str, chunk: Iterable[Meta], extras: dict[str, list[str]] | None = None
) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">\n'
    ]
    for m in chunk:
        image = ""
        if m.lead is not None:
            image = f"<image:image><image:loc>{esc(base + m.lead.src)}</image:loc></image:image>"
        lastmod = iso_offset(m.last_change)
        out.append(f"<url><loc>{base}{m.path}</loc><lastmod>{lastmod}</lastmod>{image}</url>\n")
        for extra in (extras or {}).get(m.path, ()):
            out.append(f"<url><loc>{base}{extra}</loc><lastmod>{lastmod}</lastmod></url>\n")
        if m.lead is not None and m.index % 9 == 4:
            # RebelMouse lists some media-library files as pages of their own.
            out.append(
                f"<url><loc>{esc(base + m.lead.src)}</loc><lastmod>{lastmod}</lastmod></url>\n"
            )
    out.append("</urlset>\n")
    return "".join(out)


def news_sitemap(site: Site, base: str) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
    ]
    for m in site.news_items():
        out.append(
            f"<url><loc>{base}{m.path}</loc><news:news><news:publication>"
            f"<news:name>{vocab.SITE_NAME}</news:name><news:language>en</news:language>"
            f"</news:publication><news:publication_date>{iso_offset(m.published)}"
            f"</news:publication_date><news:title>{esc(m.title)}</news:title></news:news></url>\n"
        )
    out.append("</urlset>\n")
    return "".join(out)


def load_more_json(
    site: Site, base: str, listing: Listing, chunk: list[Meta], has_more: bool
) -> str:
    posts = []
    for m in chunk:
        s = vocab.SECTION_BY_KEY[m.primary]
        posts.append(
            {
                "id": m.post_id,
                "headline": m.title,
                "subheadline": m.dek or "",
                "url": base + m.path,
                "created_ts": int(m.published.timestamp()),
                "updated_ts": int(m.last_change.timestamp()),
                "section": {"title": s.label, "url": base + s.path},
                "authors": [
                    {
                        "name": p.name,
                        "url": f"{base}/author/{p.username}/" if p.username else None,
                    }
                    for p in m.authors
                ],
                "image": base + m.lead.src if m.lead else None,
            }
        )
    return json.dumps(
        {"has_more": has_more, "posts_by_source": {listing.resource_id: posts}},
        ensure_ascii=False,
    )
