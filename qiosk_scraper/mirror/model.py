"""What the mirror's articles are: cheap per-index metadata (enough for listings, feeds and
sitemaps) and lazily generated bodies, all derived from ``(seed, index)`` so that any article
can be built on its own and the same arguments always give the same site."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from qiosk_scraper.mirror import vocab
from qiosk_scraper.mirror.body import split_credit
from qiosk_scraper.mirror.layouts import FAMILIES, WORDPRESS, family_of
from qiosk_scraper.mirror.vocab import Person

PAGE_SIZE = 10  # cards per listing page and per load-more page
SITEMAP_SIZE = 50  # articles per numbered sitemap

NEW_YORK = ZoneInfo("America/New_York")
MIN_ARTICLES = 60
LEGACY_START = datetime(2019, 6, 3, tzinfo=UTC)
LEGACY_SPAN_DAYS = 1280  # up to late 2022, before the move to RebelMouse
BASE_NOW = datetime(2025, 6, 18, 16, 20, tzinfo=UTC)
EDITION_STEP = timedelta(hours=26)


def slugify(text: str) -> str:
    """WordPress-style slug of a title: accents stripped, apostrophes dropped, every other run
    of non-alphanumerics one hyphen."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.replace("'", "").lower()
    return vocab.tag_slug(text)


@dataclass(frozen=True)
class LeadImage:
    file: str
    image_id: int
    alt: str
    credit_text: str | None  # the text after the "Top ... credit:" prefix, None: no credit line
    prefix: str  # "Top photo credit:" or "Top image credit:"
    placement: str  # "body": last body paragraph; "hero": div.photo-credit by the image
    og_host: str | None = None  # og:image on another RebelMouse host

    @property
    def src(self) -> str:
        return f"/media-library/{self.file}?id={self.image_id}&width=1200&height=800&quality=90"

    @property
    def caption(self) -> str | None:
        return None if self.credit_text is None else split_credit(self.credit_text)[0]

    @property
    def credit(self) -> str | None:
        return None if self.credit_text is None else split_credit(self.credit_text)[1]

    @property
    def credit_line(self) -> str | None:
        return None if self.credit_text is None else f"{self.prefix} {self.credit_text}"


@dataclass
class Meta:
    """Everything about one article except its body."""

    index: int
    post_id: int
    slug: str
    path: str  # canonical path
    title: str
    dek: str | None
    type_key: str
    primary: str
    secondary: tuple[str, ...]
    tags: tuple[str, ...]
    authors: tuple[Person, ...]
    published: datetime
    modified: datetime | None
    lead: LeadImage | None
    kind: str  # regular, qiosk, dw (Diplomacy Watch), long, note
    flags: frozenset[str]
    keywords: tuple[str, ...]  # phrase slots the title used (body reuses them)
    legacy_path: str | None = None  # date path that 301s to ``path`` (migrated legacy post)
    old_slugs: tuple[str, ...] = ()  # earlier slugs that 301 to ``path``
    body_version: int = 1
    first_path: str = ""  # the path of edition 1; other bodies keep linking to it
    features: set[str] = field(default_factory=set)
    layout: str = "single"  # the layout family the page is rendered in (``layouts``)

    @property
    def sections(self) -> tuple[str, ...]:
        """Keys of every listing section the article is filed under (type first)."""
        return (self.type_key, self.primary, *self.secondary)

    @property
    def type_label(self) -> str:
        return vocab.SECTION_BY_KEY[self.type_key].label

    @property
    def section_label(self) -> str:
        return vocab.SECTION_BY_KEY[self.primary].label

    @property
    def last_change(self) -> datetime:
        return self.modified or self.published


# Forced features by rank (0 = newest of edition 1). Ranks not listed are drawn at random.
FORCED: dict[int, tuple[str, ...]] = {
    0: ("qiosk", "fresh_minutes"),
    1: ("reporting", "fresh_hours", "authors2", "links_old_slug", "links_legacy"),
    2: ("dw", "updated"),
    3: ("analysis", "authors3_diacritics"),
    4: ("authors2_apostrophe", "credit_inner_parens"),
    5: ("guest_coauthor",),
    6: ("no_dek", "credit_state", "credit_hero"),
    7: ("ny_2330", "credit_cc"),
    8: ("opinion", "credit_dod", "tweet"),
    9: ("news", "credit_nocaption", "table"),
    10: ("long", "credit_reuters"),
    11: ("note", "no_image"),
    12: ("rtl", "nbsp", "alt_filename", "credit_shutterstock"),
    13: ("old_slug", "alt_empty"),
    14: ("ghost_teaser", "inbody_image", "alt_headline"),
    15: ("multi_sections", "updated", "many_tags"),
    16: ("og_external",),
    17: ("dw",),
    18: ("list", "quote", "table", "tweet", "inbody_image", "ad", "empty_p"),
    19: ("reporting", "credit_hero", "no_dek"),
    20: ("qiosk", "credit_none"),
    21: ("guest_only",),
    22: ("empty_p", "ad", "subheads"),
    23: ("cover_0",),
    24: ("cover_1",),
    25: ("cover_2",),
    26: ("cover_3",),
    27: ("cover_4",),
    28: ("cover_5",),
    29: ("cover_6",),
    30: ("cover_7",),
    31: ("cover_8",),
}
# Edition changes, by rank in edition 1.
EDITED_RANKS = (2, 26, 33)
DELETED_RANK = 30
MOVED_RANK = 35
NEW_PER_EDITION = 3


def _rng(seed: int, index: int, salt: int = 0) -> random.Random:
    return random.Random(seed * 1_000_003 + index * 7919 + salt * 104_729)


def _choose(rng: random.Random, items: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    return items[rng.randrange(len(items))]


def _fill(template: str, slots: dict[str, str]) -> str:
    adj = slots.get("adj")
    out = (
        template.replace("a {adj}", ("an " if adj[0] in "aeiou" else "a ") + adj)
        if adj
        else template
    )
    for key, value in slots.items():
        out = out.replace("{" + key + "}", value)
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_title(rng: random.Random, kind: str) -> tuple[str, dict[str, str], list[str]]:
    actor, actor_kw = _choose(rng, vocab.ACTORS)
    actor2, _ = _choose(rng, vocab.ACTORS)
    subject, subject_kw = _choose(rng, vocab.SUBJECTS)
    adj = vocab.ADJECTIVES[rng.randrange(len(vocab.ADJECTIVES))]
    templates: tuple[str, ...]
    if kind == "dw":
        templates = vocab.DIPLOMACY_WATCH_TEMPLATES
    elif kind in ("qiosk", "note"):
        templates = vocab.QIOSK_TEMPLATES
    else:
        templates = vocab.TITLE_TEMPLATES
    template = templates[rng.randrange(len(templates))]
    slots = {
        "actor": actor,
        "Actor": _cap(actor),
        "actor2": actor2 if actor2 != actor else "its neighbors",
        "subject": subject,
        "adj": adj,
    }
    title = _cap(_fill(template, slots))
    keywords = [subject_kw, actor_kw] if rng.random() < 0.5 else [actor_kw, subject_kw]
    if kind == "dw":
        keywords = ["diplomacy-watch", *keywords]
    return title, slots, keywords


CREDIT_KINDS = ("state", "cc", "dod", "reuters", "shutterstock", "nocaption", "none", "plain")
CREDIT_WEIGHTS = (2, 2, 2, 3, 4, 1, 1, 5)


def make_credit(rng: random.Random, kind: str, published: datetime) -> str | None:
    caption = vocab.CAPTIONS[rng.randrange(len(vocab.CAPTIONS))]
    who = vocab.PHOTOGRAPHERS[rng.randrange(len(vocab.PHOTOGRAPHERS))]
    if kind == "state":
        return f"{caption} in Washington. (Official State Department photo by {who})"
    if kind == "cc":
        return f"{caption}. (Creative Commons license)"
    if kind == "dod":
        place = vocab.PLACES[rng.randrange(len(vocab.PLACES))]
        day = (published - timedelta(days=rng.randint(3, 40))).date()
        rank = vocab.RANKS[rng.randrange(len(vocab.RANKS))]
        return f"{caption}, {place}, {day:%B} {day.day}, {day.year}. (DoD photo by {rank} {who})"
    if kind == "airforce":
        return f"{caption} (U.S. Air Force photo/{who})"
    if kind == "reuters":
        return f"{caption}. ({who} via Reuters)"
    if kind == "shutterstock":
        return f"{caption}. (Shutterstock)"
    if kind == "nocaption":
        return "Inspired by maps via shutterstock.com"
    if kind == "inner":
        return f"{caption} (center) during a visit to the region. ({who}/Shutterstock)"
    if kind == "none":
        return None
    return f"{caption}. ({who}/Shutterstock)"


@dataclass(frozen=True)
class SiteShape:
    """Numbers fixed by the Site's arguments."""

    seed: int
    articles: int  # edition-1 article count
    now1: datetime
    era: str = "rebelmouse"  # "wordpress": every edition-1 article is a WordPress-era post

    @property
    def legacy_count(self) -> int:
        return self.articles if self.era == WORDPRESS else max(4, self.articles // 30)

    @property
    def spacing_minutes(self) -> int:
        rm = self.articles - self.legacy_count
        return max(20, min(420, (2 * 365 * 24 * 60) // max(1, rm)))


def rank_of(shape: SiteShape, index: int) -> int:
    return shape.articles - 1 - index


def make_meta(shape: SiteShape, index: int, new_after: datetime | None = None) -> Meta:
    """Metadata of article ``index``. ``new_after``: the article is one added by a later
    edition, published after that moment."""
    seed = shape.seed
    rng = _rng(seed, index)
    legacy = 0 <= index < shape.legacy_count and new_after is None
    rank = rank_of(shape, index)
    forced = set(FORCED.get(rank, ())) if not legacy and new_after is None else set()
    features: set[str] = set()

    # kind
    if "long" in forced:
        kind = "long"
    elif "note" in forced:
        kind = "note"
    elif "dw" in forced:
        kind = "dw"
    elif "qiosk" in forced:
        kind = "qiosk"
    elif forced or legacy:
        kind = "regular"
    else:
        roll = rng.random()
        kind = "qiosk" if roll < 0.15 else ("dw" if roll < 0.2 else "regular")

    # type and sections
    if kind in ("qiosk", "dw", "note"):
        type_key = "news" if rng.random() < 0.25 and kind == "qiosk" else "analysis"
        primary = "qiosk"
    else:
        roll = rng.random()
        type_key = (
            "analysis"
            if roll < 0.6
            else "reporting"
            if roll < 0.8
            else "opinion"
            if roll < 0.9
            else "news"
        )
        primary = vocab.PRIMARY_CHOICES[rng.randrange(len(vocab.PRIMARY_CHOICES))].key
    for t in ("analysis", "reporting", "opinion", "news"):
        if t in forced:
            type_key = t
    for f in forced:
        if f.startswith("cover_"):
            primary = vocab.PRIMARY_CHOICES[int(f[6:])].key
    others = [s.key for s in vocab.PRIMARY_CHOICES if s.key != primary]
    n_secondary = 2 if "multi_sections" in forced else (1 if rng.random() < 0.3 else 0)
    secondary = tuple(rng.sample(others, n_secondary))

    # tags
    n_tags = 7 if "many_tags" in forced else rng.choice((1, 2, 2, 3, 3, 4, 5))
    tags: list[str] = []
    while len(tags) < n_tags:
        pick = rng.choices(vocab.TAG_LABELS, vocab.TAG_WEIGHTS)[0]
        if pick not in tags:
            tags.append(pick)
    if index % 3 == 0 and "U.S. foreign policy" not in tags:
        tags.insert(0, "U.S. foreign policy")

    # authors
    if "authors3_diacritics" in forced:
        authors: tuple[Person, ...] = (vocab.AUTHORS[2], vocab.AUTHORS[7], vocab.AUTHORS[9])
    elif "authors2_apostrophe" in forced:
        authors = (vocab.AUTHORS[3], vocab.AUTHORS[13])
    elif "guest_coauthor" in forced:
        authors = (vocab.AUTHORS[0], vocab.GUESTS[0])
    elif "guest_only" in forced:
        authors = (vocab.GUESTS[1],)
    elif kind in ("qiosk", "dw", "note"):
        authors = (vocab.QIOSK_EDITORS[rng.randrange(len(vocab.QIOSK_EDITORS))],)
    else:
        roll = rng.random()
        count = 2 if "authors2" in forced else (1 if roll < 0.8 else 2 if roll < 0.95 else 3)
        authors = tuple(rng.sample(vocab.AUTHORS, count))

    # title, dek, slug keywords
    title, slots, keywords = make_title(rng, kind)
    if "no_dek" in forced or (not forced and rng.random() < 0.08):
        dek = None
    else:
        dek = _fill(vocab.DEKS[rng.randrange(len(vocab.DEKS))], slots)

    # dates
    spacing = shape.spacing_minutes
    if new_after is not None:
        published = new_after + timedelta(hours=3 + 7 * (index - shape.articles))
    elif legacy:
        day = LEGACY_START + timedelta(days=index * LEGACY_SPAN_DAYS // shape.legacy_count)
        local = datetime.combine(
            day.date(), time(9 + rng.randrange(8), rng.randrange(60)), NEW_YORK
        )
        published = local.astimezone(UTC)
    else:
        jitter = rng.randrange(max(1, spacing // 2))
        published = shape.now1 - timedelta(minutes=rank * spacing + jitter + 60)
        if "fresh_minutes" in forced:
            published = shape.now1 - timedelta(minutes=47)
        elif "fresh_hours" in forced:
            published = shape.now1 - timedelta(hours=5, minutes=12)
        elif "ny_2330" in forced:
            ny_day = (published - timedelta(days=1)).astimezone(NEW_YORK).date()
            published = datetime.combine(ny_day, time(23, 30), NEW_YORK).astimezone(UTC)
            features.add("published_2330_new_york")
    published = published.replace(second=0, microsecond=0)
    modified: datetime | None = None
    if "updated" in forced or (not forced and not legacy and rng.random() < 0.12):
        later = published + timedelta(minutes=rng.randint(120, 4 * 24 * 60))
        limit = shape.now1 - timedelta(minutes=10)
        if later >= limit:
            later = published + (limit - published) * 3 / 5
        modified = later.replace(second=0, microsecond=0)
        if modified <= published:
            modified = None

    # lead image
    lead: LeadImage | None
    if "no_image" in forced or (not forced and rng.random() < 0.04):
        lead = None
    else:
        credit_kind = rng.choices(CREDIT_KINDS, CREDIT_WEIGHTS)[0]
        for f, k in (
            ("credit_state", "state"),
            ("credit_cc", "cc"),
            ("credit_dod", "dod"),
            ("credit_nocaption", "nocaption"),
            ("credit_reuters", "reuters"),
            ("credit_shutterstock", "shutterstock"),
            ("credit_none", "none"),
            ("credit_inner_parens", "inner"),
        ):
            if f in forced:
                credit_kind = k
        if legacy and index % 2 == 0:
            credit_kind = "airforce"
        credit_text = make_credit(rng, credit_kind, published)
        features.add(f"credit_{credit_kind}")
        alt_roll = rng.random()
        alt_kind = "headline" if alt_roll < 0.5 else "descriptive" if alt_roll < 0.85 else "empty"
        for f in ("alt_filename", "alt_empty", "alt_headline"):
            if f in forced:
                alt_kind = f[4:]
        image_id = 61_000_000 + (seed % 1000) * 100_000 + index * 4
        base_name = "-".join(keywords[-2:])
        if alt_kind == "filename":
            number = 1_000_000_000 + rng.randrange(999_999_999)
            alt = f"Shutterstock_{number}-scaled"
            file = f"shutterstock_{number}-scaled.jpg"
        else:
            alt = {"headline": title, "empty": ""}.get(alt_kind, "")
            if alt_kind == "descriptive":
                alt = vocab.CAPTIONS[rng.randrange(len(vocab.CAPTIONS))]
            file = base_name + (".png" if credit_kind == "nocaption" else ".jpg")
        features.add(f"alt_{alt_kind}")
        placement = "hero" if "credit_hero" in forced or rng.random() < 0.2 else "body"
        if credit_text is not None:
            features.add(f"credit_in_{placement}")
        lead = LeadImage(
            file=file,
            image_id=image_id,
            alt=alt,
            credit_text=credit_text,
            prefix="Top image credit:" if rng.random() < 0.4 else "Top photo credit:",
            placement=placement,
            og_host="https://assets.rbl.ms" if "og_external" in forced else None,
        )

    flags = set(forced)
    if not forced:
        for flag, p in (
            ("subheads", 0.35),
            ("list", 0.12),
            ("quote", 0.3),
            ("tweet", 0.05),
            ("table", 0.05),
            ("inbody_image", 0.15),
            ("nbsp", 0.3),
            ("ad", 0.4),
            ("empty_p", 0.15),
        ):
            if rng.random() < p:
                flags.add(flag)
    if kind in ("qiosk", "note"):
        flags -= {"subheads", "table", "long"}
    if lead is None:
        flags.discard("inbody_image")  # "no image at all"

    post_id = 2_668_000_000 + (seed % 1000) * 1_000_000 + index * 13
    return Meta(
        index=index,
        post_id=post_id,
        slug="",
        path="",
        title=title,
        dek=dek,
        type_key=type_key,
        primary=primary,
        secondary=secondary,
        tags=tuple(tags),
        authors=authors,
        published=published,
        modified=modified,
        lead=lead,
        kind=kind,
        flags=frozenset(flags),
        keywords=tuple(keywords),
        features=features,
    )


def legacy_date_path(published: datetime, long_slug: str) -> str:
    day: date = published.astimezone(NEW_YORK).date()
    return f"/{day:%Y/%m/%d}/{long_slug}/"


def with_layout(meta: Meta, shape: SiteShape, layout: str) -> Meta:
    """``meta`` rendered in its family: WordPress for the legacy posts of a WordPress-era site,
    else ``layout`` (drawn per article under ``mixed``), the lead credit placed as the family
    places it."""
    legacy = 0 <= meta.index < shape.legacy_count
    meta.layout = (
        WORDPRESS
        if shape.era == WORDPRESS and legacy
        else family_of(layout, shape.seed, meta.index)
    )
    family = FAMILIES.get(meta.layout)
    if family is None or family.credit == "model" or meta.lead is None:
        return meta
    if family.credit == "line":
        meta.lead = replace(meta.lead, placement="body", prefix="Top image credit:")
    else:
        meta.lead = replace(meta.lead, placement="hero")
    return meta
