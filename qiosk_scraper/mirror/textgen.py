"""Invented article text: sentences from the phrase lists of :mod:`vocab`, assembled into the
body blocks of :mod:`body` according to the article's kind and flags."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from qiosk_scraper.mirror import vocab
from qiosk_scraper.mirror.body import Block, BodyImage, Inline, Tweet
from qiosk_scraper.mirror.layouts import FAMILIES
from qiosk_scraper.mirror.model import NEW_YORK, Meta, _rng


@dataclass(frozen=True)
class LinkTargets:
    """Internal pages a body may link to (paths)."""

    articles: tuple[str, ...]  # canonical paths of a few older articles
    old_slug_path: str | None  # a path that 301s to its article (old slug)
    legacy_path: str | None  # a legacy date path that 301s to its article
    empty_tag_path: str


def _pick(rng: random.Random, items: tuple[str, ...]) -> str:
    return items[rng.randrange(len(items))]


def _pair(rng: random.Random, items: tuple[tuple[str, str], ...]) -> str:
    return items[rng.randrange(len(items))][0]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class Writer:
    def __init__(self, rng: random.Random, meta: Meta, targets: LinkTargets) -> None:
        self.rng = rng
        self.meta = meta
        self.targets = targets
        self.nbsp = "nbsp" in meta.flags

    def adj(self) -> str:
        return _pick(self.rng, vocab.ADJECTIVES)

    def sentence(self) -> list[Inline]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            actor = _cap(_pair(rng, vocab.ACTORS))
            return [
                (
                    "t",
                    f"{actor} {_pick(rng, vocab.VERBS)} {_pick(rng, vocab.OBJECTS)}"
                    f"{_pick(rng, vocab.TAILS)}. ",
                )
            ]
        if roll < 0.62:
            quote = _pick(rng, vocab.QUOTES)
            who = _pick(rng, vocab.SPEAKERS)
            role = _pick(rng, vocab.ROLES)
            return [("t", f"“{quote},” said {who}, a {role}. ")]
        if roll < 0.8:
            text = _pick(rng, vocab.OBSERVATIONS).replace("a {adj}", _a(self.adj()))
            return [("t", f"{text}. ")]
        billions = rng.randint(2, 90) / 10
        share = rng.randint(3, 40)
        space = "\xa0" if self.nbsp else " "
        subject = _pair(rng, vocab.SUBJECTS)
        return [
            (
                "t",
                f"Spending on {subject} reached ${billions:.1f}{space}billion last year, "
                f"roughly {share}{space}percent of the total — a figure that rarely makes "
                "the headlines. ",
            )
        ]

    def link_sentence(self) -> list[Inline]:
        rng = self.rng
        roll = rng.random()
        absolute = rng.random() < 0.4
        if roll < 0.3 and self.meta.tags:
            label = self.meta.tags[rng.randrange(len(self.meta.tags))]
            return [
                ("t", "The debate over "),
                ("a", f"/tag/{vocab.tag_slug(label)}/", label, absolute),
                ("t", " is far from settled. "),
            ]
        if roll < 0.5:
            region = vocab.REGIONS[rng.randrange(len(vocab.REGIONS))]
            return [
                ("t", "Similar pressures are building across the region ("),
                ("a", region.path, region.label, absolute),
                ("t", "), where governments are hedging their bets. "),
            ]
        if roll < 0.8 and self.targets.articles:
            path = self.targets.articles[rng.randrange(len(self.targets.articles))]
            return [
                ("t", "As "),
                ("a", path, "we reported earlier", absolute),
                ("t", f", {_pair(rng, vocab.ACTORS)} {_pick(rng, vocab.VERBS)} "),
                ("t", f"{_pick(rng, vocab.OBJECTS)}. "),
            ]
        url, text = vocab.EXTERNAL_LINKS[rng.randrange(len(vocab.EXTERNAL_LINKS))]
        return [
            ("t", "According to "),
            ("a", url, text, False),
            ("t", ", the risks were flagged well in advance. "),
        ]

    def paragraph(self, sentences: int, links: int = 0) -> Block:
        parts: list[Inline] = []
        link_at = set(self.rng.sample(range(sentences), min(links, sentences)))
        for i in range(sentences):
            parts.extend(self.link_sentence() if i in link_at else self.sentence())
        return Block("p", inlines=_trim(parts))

    def subhead(self, level: str = "h2") -> Block:
        text = _pick(self.rng, vocab.SUBHEADS)
        text = text.replace("{actor}", _pair(self.rng, vocab.ACTORS)).replace("{adj}", self.adj())
        return Block(level, inlines=(("t", _cap(text)),))

    def items(self, n: int) -> tuple[tuple[Inline, ...], ...]:
        picks = self.rng.sample(vocab.LIST_ITEMS, n)
        return tuple(
            (("t", p.replace("{actor}", _pair(self.rng, vocab.ACTORS)) + "."),) for p in picks
        )

    def quote(self) -> Block:
        paras = tuple(
            (("t", f"“{_pick(self.rng, vocab.QUOTES)}. {_pick(self.rng, vocab.QUOTES)}.”"),)
            for _ in range(self.rng.randint(1, 2))
        )
        return Block("quote", items=paras)

    def tweet(self) -> Block:
        who = _pick(self.rng, vocab.SPEAKERS)
        handle = "".join(ch for ch in who.split()[-1] if ch.isascii() and ch.isalnum())
        day = self.meta.published.astimezone(NEW_YORK)
        text: tuple[Inline, ...] = (
            ("t", f"{_cap(_pair(self.rng, vocab.ACTORS))} {_pick(self.rng, vocab.VERBS)} "),
            ("t", f"{_pick(self.rng, vocab.OBJECTS)}. Read the thread: "),
            ("a", f"https://t.co/{self.meta.post_id % 10_000_000:07d}", "pic.twitter.com/x", False),
        )
        return Block(
            "tweet",
            tweet=Tweet(
                text=text,
                name=who,
                handle=handle + "_dc",
                date=f"{day:%B} {day.day}, {day.year}",
                status_id=1_700_000_000_000_000_000 + self.meta.post_id,
            ),
        )

    def table(self) -> Block:
        years = ("FY2023", "FY2024", "FY2025")
        rows: list[tuple[str, ...]] = [("Program", *years)]
        for subject in self.rng.sample(vocab.SUBJECTS, 4):
            values = tuple(f"${self.rng.randint(2, 900) / 10:.1f}bn" for _ in years)
            rows.append((_cap(subject[0]), *values))
        return Block("table", rows=tuple(rows))

    def body_image(self, k: int) -> Block:
        m = self.meta
        caption = _pick(self.rng, vocab.CAPTIONS) + "."
        who = _pick(self.rng, vocab.PHOTOGRAPHERS)
        credit = f"{who}/Reuters" if self.rng.random() < 0.5 else f"Photo by {who}"
        image = BodyImage(
            file=f"{m.keywords[-1]}-{k + 1}.jpg",
            image_id=m.lead.image_id + 1 + k if m.lead else 59_000_000 + m.index * 4 + k,
            alt=caption.rstrip("."),
            caption=caption,
            credit=credit,
        )
        return Block("image", image=image)


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _trim(parts: list[Inline]) -> tuple[Inline, ...]:
    """Drop the trailing space of the last text piece."""
    if parts and parts[-1][0] == "t":
        parts[-1] = ("t", str(parts[-1][1]).rstrip(" "))
    return tuple(parts)


def _add_promo(blocks: list[Block], w: Writer, targets: LinkTargets) -> None:
    """ "ALSO READ:" lines linking to older stories, and an embedded tweet when there is none."""
    for pos, path in zip((1, 4), targets.articles[-2:], strict=False):
        subject = _pair(w.rng, vocab.SUBJECTS)
        text = f"Why the debate over {subject} keeps coming back"
        line = Block(
            "promo", inlines=(("strong", "ALSO READ:"), ("t", " "), ("a", path, text, False))
        )
        blocks.insert(min(pos, len(blocks)), line)
    if all(b.kind != "tweet" for b in blocks):
        blocks.insert(min(2, len(blocks)), w.tweet())


def make_body(meta: Meta, targets: LinkTargets, seed: int, now: datetime) -> tuple[Block, ...]:
    """The body container's elements, including noise (ads, empty paragraphs) and the
    "Top photo credit" line when it sits in the body."""
    rng = _rng(seed, meta.index, salt=1)
    w = Writer(rng, meta, targets)
    flags = meta.flags
    blocks: list[Block] = []
    kind = meta.kind
    if kind == "note":
        blocks.append(w.paragraph(3, links=1))
    elif kind == "dw":
        blocks.append(w.paragraph(4, links=1))
        for _ in range(rng.randint(2, 3)):
            blocks.append(w.subhead("h3"))
            blocks.append(w.paragraph(3, links=rng.randint(0, 1)))
        blocks.append(Block("p", inlines=(("strong", "In other diplomatic news this week:"),)))
        blocks.append(Block("ul", items=w.items(3)))
    elif kind == "qiosk":
        for i in range(rng.randint(3, 5)):
            blocks.append(w.paragraph(rng.randint(2, 4), links=1 if i == 0 else 0))
    else:
        paragraphs = 80 if kind == "long" else rng.randint(6, 12)
        sub_every = 6 if kind == "long" or "subheads" in flags else 0
        for i in range(paragraphs):
            if sub_every and i and i % sub_every == 0:
                blocks.append(w.subhead("h2" if rng.random() < 0.7 else "h3"))
            blocks.append(w.paragraph(rng.randint(4, 6), links=rng.choice((0, 0, 1, 1, 2))))
            if kind == "long" and i in (10, 30):
                blocks.append(w.body_image(i // 20))
            if kind == "long" and i in (15, 45):
                blocks.append(Block("ul", items=w.items(4)))
            if kind == "long" and i == 20:
                blocks.append(w.quote())
        # features at fixed spots, so they sit among ordinary paragraphs
        extras: list[tuple[int, Block]] = []
        if "quote" in flags:
            extras.append((2, w.quote()))
        if "list" in flags:
            extras.append((3, Block("ol" if rng.random() < 0.5 else "ul", items=w.items(3))))
        if "table" in flags:
            extras.append((4, w.table()))
        if "tweet" in flags:
            extras.append((1, w.tweet()))
        if "inbody_image" in flags:
            extras.append((3, w.body_image(0)))
        if "ad" in flags:
            extras.append((3, Block("ad")))
        if "empty_p" in flags:
            extras.append((5, Block("empty")))
        for pos, block in sorted(extras, key=lambda e: -e[0]):
            blocks.insert(min(pos, len(blocks)), block)
    if "rtl" in flags:
        word, lang = vocab.RTL_WORDS[0]
        blocks.insert(
            1,
            Block(
                "p",
                inlines=(
                    ("t", "Negotiators kept returning to one word, "),
                    ("rtl", word, lang),
                    ("t", " (truce), which each side defined differently."),
                ),
            ),
        )
    if "links_old_slug" in flags or "links_legacy" in flags:
        parts: list[Inline] = [("t", "Readers can find our earlier coverage ")]
        if targets.old_slug_path:
            parts += [("a", targets.old_slug_path, "here", False), ("t", " and ")]
        if targets.legacy_path:
            parts += [("a", targets.legacy_path, "in our archive", False)]
        parts.append(("t", ", as well as under "))
        parts.append(("a", targets.empty_tag_path, vocab.EMPTY_TAG.lower(), False))
        parts.append(("t", "."))
        blocks.insert(2, Block("p", inlines=tuple(parts)))
    for version in range(2, meta.body_version + 1):
        vrng = _rng(seed, meta.index, salt=version)
        vw = Writer(vrng, meta, targets)
        if len(blocks) > 2 and blocks[-1].kind == "p":
            blocks[-1] = vw.paragraph(3)
        blocks.insert(
            0,
            Block(
                "p",
                inlines=(
                    ("em", f"Editor’s note (revision {version}):"),
                    ("t", " this article was updated with new details. "),
                    *vw.sentence(),
                ),
            ),
        )
    if FAMILIES.get(meta.layout, FAMILIES["single"]).promo:
        _add_promo(blocks, w, targets)
    if meta.lead is not None and meta.lead.placement == "body" and meta.lead.credit_line:
        blocks.append(Block("credit", text=meta.lead.credit_line))
    return tuple(blocks)
