# ruff: noqa: E501 - HTML templates read better unwrapped
"""The WordPress-era template (outlet-anatomy.md section 8): an article page as an old capture of
a ``/YYYY/MM/DD/<long-slug>/`` post shows it, in WordPress conventions (``h1.entry-title``,
``div.entry-content``, ``span.author.vcard``, ``time.entry-date``, ``rel="category tag"`` and
``rel="tag"`` links, Yoast-style JSON-LD ``@graph``). The theme itself was never seen in markup:
every class here is a WordPress default, none is the outlet's own.

Gold (``Site.gold``) is the same record as in the RebelMouse template: the lead credit sits in
the featured image's ``figcaption`` or as a "Top photo credit:" paragraph; in-body images are
``figure.wp-block-image`` (or the older ``div.wp-caption``) with ``caption (credit)`` captions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qiosk_scraper.mirror import vocab
from qiosk_scraper.mirror.body import Block, attr, esc, inline_html, iso_offset, json_script
from qiosk_scraper.mirror.model import NEW_YORK, Meta

if TYPE_CHECKING:
    from qiosk_scraper.mirror.site import Site


def _image(block: Block) -> str:
    im = block.image
    assert im is not None
    text = f"{im.caption} ({im.credit})" if im.caption and im.credit else im.caption or im.credit
    if im.image_id % 2:  # the classic editor's caption shortcode
        return (
            f'<div id="attachment_{im.image_id}" class="wp-caption aligncenter" style="width: 990px">'
            f'<img class="size-full wp-image-{im.image_id}" src="{attr(im.src)}" alt="{attr(im.alt)}" width="980" height="551"/>'
            f'<p class="wp-caption-text">{esc(text or "")}</p></div>'
        )
    return (
        f'<figure class="wp-block-image size-large"><img src="{attr(im.src)}" alt="{attr(im.alt)}" '
        f'class="wp-image-{im.image_id}" width="980" height="551"/>'
        f"<figcaption>{esc(text or '')}</figcaption></figure>"
    )


def block_html(block: Block, base: str) -> str:
    """One body element in the block editor's markup."""
    k = block.kind
    if k == "quote":
        ps = "".join(f"<p>{inline_html(item, base)}</p>" for item in block.items)
        return f'<blockquote class="wp-block-quote">{ps}</blockquote>'
    if k == "table":
        return f'<figure class="wp-block-table">{block.html(base)}</figure>'
    if k == "tweet":
        return (
            '<figure class="wp-block-embed is-type-rich is-provider-twitter wp-block-embed-twitter">'
            f'<div class="wp-block-embed__wrapper">\n{block.tweet_html(base)}\n</div></figure>'
        )
    if k == "image":
        return _image(block)
    if k == "ad":
        return '<div class="code-block code-block-2"><ins class="adsbygoogle" data-ad-slot="2211"></ins></div>'
    return block.html(base)


def _byline(meta: Meta) -> str:
    names = []
    for p in meta.authors:
        inner = (
            f'<a class="url fn n" href="/author/{p.username}/">{esc(p.name)}</a>'
            if p.username
            else f'<span class="fn n">{esc(p.name)}</span>'
        )
        names.append(f'<span class="author vcard">{inner}</span>')
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f'<span class="byline">By {joined}</span>'


def _time(css: str, moment: Any) -> str:
    local = moment.astimezone(NEW_YORK)
    return f'<time class="{css}" datetime="{local.isoformat()}">{local:%B} {local.day}, {local.year}</time>'


def _json_ld(meta: Meta, base: str, canonical: str, image: str | None) -> str:
    people = [
        {"@type": "Person", "@id": f"{base}/#/schema/person/{p.username or i}", "name": p.name}
        for i, p in enumerate(meta.authors)
    ]
    article: dict[str, Any] = {
        "@type": "Article",
        "@id": f"{canonical}#article",
        "isPartOf": {"@id": canonical},
        "author": [{"@id": p["@id"]} for p in people],
        "headline": meta.title,
        "datePublished": iso_offset(meta.published),
        "dateModified": iso_offset(meta.last_change),
        "mainEntityOfPage": {"@id": canonical},
        "articleSection": [meta.type_label, meta.section_label],
        "keywords": list(meta.tags),
        "inLanguage": "en-US",
    }
    graph: list[dict[str, Any]] = [
        {"@type": "WebSite", "@id": f"{base}/#website", "url": f"{base}/", "name": vocab.SITE_NAME},
        {
            "@type": "WebPage",
            "@id": canonical,
            "url": canonical,
            "name": f"{meta.title} - {vocab.SITE_NAME}",
        },
        article,
        *people,
    ]
    if image:
        graph.insert(1, {"@type": "ImageObject", "@id": f"{canonical}#primaryimage", "url": image})
        article["image"] = {"@id": f"{canonical}#primaryimage"}
    data = {"@context": "https://schema.org", "@graph": graph}
    return f'<script type="application/ld+json" class="yoast-schema-graph">{json_script(data)}</script>'


def _featured(meta: Meta) -> str:
    lead = meta.lead
    if lead is None:
        return ""
    caption = ""
    if lead.placement == "hero" and lead.credit_text:
        caption = f'<figcaption class="wp-caption-text">{esc(lead.credit_text)}</figcaption>'
    return (
        f'<figure class="post-thumbnail"><img width="1200" height="800" src="{attr(lead.src)}" '
        f'class="attachment-post-thumbnail size-post-thumbnail wp-post-image" alt="{attr(lead.alt)}" '
        f'loading="lazy"/>{caption}</figure>'
    )


def wordpress_page(site: Site, meta: Meta, base: str, canonical: str, description: str) -> str:
    """The article as the WordPress theme rendered it (``description``: its meta description)."""
    t, s = vocab.SECTION_BY_KEY[meta.type_key], vocab.SECTION_BY_KEY[meta.primary]
    image = base + meta.lead.src if meta.lead else None
    body = "\n".join(block_html(b, base) for b in site.body(meta.index))
    tags = ", ".join(
        f'<a href="/tag/{vocab.tag_slug(tag)}/" rel="tag">{esc(tag)}</a>' for tag in meta.tags
    )
    dek = f'<p class="wp-subtitle">{esc(meta.dek)}</p>' if meta.dek else ""
    more = "".join(
        f'<li><a href="{attr(m.path)}">{esc(m.title)}</a></li>' for m in site.stream_for(meta)
    )
    classes = f"category-{meta.type_key} category-{meta.primary}" + "".join(
        f" tag-{vocab.tag_slug(tag)}" for tag in meta.tags
    )
    og_image = f'<meta property="og:image" content="{attr(image)}"/>\n' if image else ""
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{esc(meta.title)} - {vocab.SITE_NAME}</title>
<meta name="description" content="{attr(description)}"/>
<link rel="canonical" href="{attr(canonical)}"/>
<meta property="og:locale" content="en_US"/>
<meta property="og:type" content="article"/>
<meta property="og:title" content="{attr(meta.title)}"/>
<meta property="og:description" content="{attr(description)}"/>
<meta property="og:url" content="{attr(canonical)}"/>
<meta property="og:site_name" content="{vocab.SITE_NAME}"/>
<meta property="article:published_time" content="{iso_offset(meta.published)}"/>
<meta property="article:modified_time" content="{iso_offset(meta.last_change)}"/>
{og_image}<meta name="generator" content="WordPress 5.8.2"/>
{_json_ld(meta, base, canonical, image)}
<link rel="alternate" type="application/rss+xml" title="{vocab.SITE_NAME} &raquo; Feed" href="{base}/feed/"/>
<link rel="https://api.w.org/" href="{base}/wp-json/"/>
</head>
<body class="post-template-default single single-post postid-{meta.post_id} single-format-standard">
<div id="page" class="site">
<header id="masthead" class="site-header"><p class="site-title"><a href="/" rel="home">{vocab.SITE_NAME}</a></p>
<nav id="site-navigation" class="main-navigation"><ul class="menu"><li><a href="{t.path}">{t.label}</a></li><li><a href="/about/">About</a></li></ul></nav></header>
<div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-{meta.post_id}" class="post-{meta.post_id} post type-post status-publish format-standard hentry {classes}">
<header class="entry-header">
<span class="cat-links"><a href="{t.path}" rel="category tag">{t.label}</a> | <a href="{s.path}" rel="category tag">{s.label}</a></span>
<h1 class="entry-title">{esc(meta.title)}</h1>
{dek}
<div class="entry-meta">{_byline(meta)}
<span class="posted-on"><a href="{attr(canonical)}" rel="bookmark">{_time("entry-date published", meta.published)}{_time("updated", meta.last_change)}</a></span></div>
</header>
{_featured(meta)}
<div class="entry-content">
{body}
</div>
<footer class="entry-footer"><span class="tags-links">Tags: {tags}</span>
<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3><ul><li><a class="share-twitter" href="#">Twitter</a></li></ul></div></footer>
</article>
<div class="more-from"><h3 class="more-from__title">More from</h3><ul>{more}</ul></div>
</main></div>
<aside id="secondary" class="widget-area"><section class="widget widget_text"><h2 class="widget-title">Newsletter</h2>
<p>Subscribe now to our weekly round-up of news and analysis.</p></section></aside>
</div>
<footer id="colophon" class="site-footer"><p>© 2022 {vocab.SITE_NAME}</p></footer>
</div>
</body>
</html>
"""
