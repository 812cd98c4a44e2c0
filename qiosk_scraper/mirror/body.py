"""Article bodies: one structure renders both the HTML inside ``div.body-description`` and the
gold text, so the two cannot drift apart. The block conventions are listed in the package
docstring (:mod:`qiosk_scraper.mirror`)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

# Inline pieces of a paragraph: ("t", text) | ("em", text) | ("strong", text)
# | ("a", href, text, absolute) where an internal href is a path and ``absolute`` asks the page
# to write it with the serving origin (a RebelMouse body mixes relative and absolute links).
Inline = tuple[str, ...] | tuple[str, str, str, bool]


def collapse(text: str) -> str:
    """White space collapsed as the gold does it: ``str.split`` semantics, so NBSP counts."""
    return " ".join(text.split())


def esc(text: str) -> str:
    """Escape element text; NBSP is written as the ``&nbsp;`` entity, as CMS output does."""
    return html.escape(text, quote=False).replace("\xa0", "&nbsp;")


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def href_of(href: str, absolute: bool, base: str) -> str:
    if href.startswith("/") and absolute:
        return base + href
    return href


def inline_html(parts: tuple[Inline, ...], base: str) -> str:
    out: list[str] = []
    for part in parts:
        kind = part[0]
        if kind == "t":
            out.append(esc(str(part[1])))
        elif kind == "em":
            out.append(f"<em>{esc(str(part[1]))}</em>")
        elif kind == "strong":
            out.append(f"<strong>{esc(str(part[1]))}</strong>")
        elif kind == "rtl":
            out.append(f'<span dir="rtl" lang="{part[2]}">{esc(str(part[1]))}</span>')
        else:
            _, href, text, absolute = part
            target = href_of(str(href), bool(absolute), base)
            external = "" if str(href).startswith("/") else ' target="_blank"'
            out.append(f'<a href="{attr(target)}"{external}>{esc(str(text))}</a>')
    return "".join(out)


def inline_text(parts: tuple[Inline, ...]) -> str:
    return collapse("".join(str(p[2] if p[0] == "a" else p[1]) for p in parts))


def inline_links(parts: tuple[Inline, ...], base: str) -> list[tuple[str, str]]:
    return [(urljoin(base + "/", str(p[1])), collapse(str(p[2]))) for p in parts if p[0] == "a"]


@dataclass(frozen=True)
class BodyImage:
    file: str
    image_id: int
    alt: str
    caption: str | None
    credit: str | None

    @property
    def src(self) -> str:
        return f"/media-library/{self.file}?id={self.image_id}&width=980&quality=80"


@dataclass(frozen=True)
class Tweet:
    text: tuple[Inline, ...]
    name: str
    handle: str
    date: str
    status_id: int

    @property
    def status_url(self) -> str:
        return f"https://twitter.com/{self.handle}/status/{self.status_id}?ref_src=twsrc%5Etfw"


@dataclass(frozen=True)
class Block:
    """One element of the body container. ``kind``: p, h2, h3, ul, ol, quote, tweet, table,
    image, ad, empty, credit, promo (an "ALSO READ:" line, not article text)."""

    kind: str
    inlines: tuple[Inline, ...] = ()
    items: tuple[tuple[Inline, ...], ...] = ()  # ul/ol items, quote paragraphs
    rows: tuple[tuple[str, ...], ...] = ()  # table rows, the first one the header
    image: BodyImage | None = None
    tweet: Tweet | None = None
    text: str = ""  # credit line text

    def html(self, base: str, figcaption: bool = False) -> str:
        """The element's HTML; ``figcaption``: an image as ``figure > img + figcaption``."""
        k = self.kind
        if k in ("p", "promo"):
            return f"<p>{inline_html(self.inlines, base)}</p>"
        if k in ("h2", "h3"):
            return f"<{k}>{inline_html(self.inlines, base)}</{k}>"
        if k in ("ul", "ol"):
            lis = "".join(f"<li>{inline_html(item, base)}</li>" for item in self.items)
            return f"<{k}>{lis}</{k}>"
        if k == "quote":
            ps = "".join(f"<p>{inline_html(item, base)}</p>" for item in self.items)
            return f"<blockquote>{ps}</blockquote>"
        if k == "table":
            head = "".join(f"<th>{esc(c)}</th>" for c in self.rows[0])
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                for row in self.rows[1:]
            )
            return (
                '<table class="rm-table"><thead><tr>'
                f"{head}</tr></thead>\n<tbody>{body}</tbody></table>"
            )
        if k == "tweet":
            return f'<div class="rm-embed embed-media">{self.tweet_html(base)}</div>'
        if k == "image" and figcaption:
            im = self.image
            assert im is not None
            text = " ".join(t for t in (im.caption, im.credit) if t)
            return (
                f'<figure class="image-figure"><img src="{attr(im.src)}" width="980" '
                f'height="551" loading="lazy" alt="{attr(im.alt)}"/>'
                f"<figcaption>{esc(text)}</figcaption></figure>"
            )
        if k == "image":
            im = self.image
            assert im is not None
            caption = esc(im.caption or "")
            credit = esc(im.credit or "")
            return (
                '<p class="shortcode-media shortcode-media-rebelmouse-image">\n'
                f'<img class="rm-shortcode" data-rm-shortcode-id="{im.image_id}" '
                f'data-rm-shortcode-name="rebelmouse-image" loading="lazy" '
                f'src="{attr(im.src)}" id="{im.image_id}" width="980" height="551" '
                f'alt="{attr(im.alt)}"/>\n'
                '<small class="image-media media-caption" placeholder="Add Photo Caption...">'
                f"{caption}</small>"
                '<small class="image-media media-photo-credit" placeholder="Add Photo Credit...">'
                f"{credit}</small></p>"
            )
        if k == "ad":
            return (
                '<div class="ad-tag"><div class="ad-tag__inner">'
                '<div class="rblad-rs_article_inline"></div></div></div>'
            )
        if k == "empty":
            return "<p>&nbsp;</p>"
        if k == "credit":
            return f"<p><em>{esc(self.text)}</em></p>"
        raise ValueError(f"unknown body block kind {k!r}")

    def tweet_html(self, base: str) -> str:
        """The embedded tweet as Twitter's embed code writes it."""
        t = self.tweet
        assert t is not None
        return (
            '<blockquote class="twitter-tweet" '
            f'data-lang="en"><p lang="en" dir="ltr">{inline_html(t.text, base)}</p>'
            f"&mdash; {esc(t.name)} (@{esc(t.handle)}) "
            f'<a href="{attr(t.status_url)}">{esc(t.date)}</a></blockquote>\n'
            '<script async src="https://platform.twitter.com/widgets.js" '
            'charset="utf-8"></script>'
        )

    def gold(self, base: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """The gold blocks (text, links) this element contributes, in order."""
        k = self.kind
        if k in ("p", "h2", "h3"):
            return [(inline_text(self.inlines), inline_links(self.inlines, base))]
        if k in ("ul", "ol", "quote"):
            return [(inline_text(item), inline_links(item, base)) for item in self.items]
        if k == "table":
            return [(" | ".join(collapse(c) for c in row), []) for row in self.rows]
        if k == "tweet":
            t = self.tweet
            assert t is not None
            return [
                (inline_text(t.text), inline_links(t.text, base)),
                (
                    collapse(f"— {t.name} (@{t.handle}) {t.date}"),
                    [(t.status_url, collapse(t.date))],
                ),
            ]
        # image (caption and credit are not body), ad, empty paragraph, credit line, promo
        return []


def render_body(blocks: tuple[Block, ...], base: str, figcaption: bool = False) -> str:
    return "\n".join(b.html(base, figcaption) for b in blocks)


def gold_body(blocks: tuple[Block, ...], base: str) -> tuple[str, list[tuple[str, str]]]:
    texts: list[str] = []
    links: list[tuple[str, str]] = []
    for block in blocks:
        for text, block_links in block.gold(base):
            if text:
                texts.append(text)
                links.extend(block_links)
    return "\n\n".join(texts), links


def split_credit(text: str) -> tuple[str | None, str]:
    """The outlet's rule: a trailing parenthesis is the credit and the text before it the
    caption; without one, the whole text is the credit."""
    text = collapse(text)
    if text.endswith(")"):
        depth = 0
        for pos in range(len(text) - 1, -1, -1):
            if text[pos] == ")":
                depth += 1
            elif text[pos] == "(":
                depth -= 1
                if depth == 0:
                    caption = text[:pos].strip()
                    return (caption or None), text[pos + 1 : -1].strip()
    return None, text


def iso_offset(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def json_script(data: Any) -> str:
    """JSON for a ``<script>`` element (no ``</`` to end it early)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=False).replace("</", "<\\/")
