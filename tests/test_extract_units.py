"""The small helpers of the extractor: credits, dates, charsets, structured data, blocks."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import lxml.html
import pytest
from lxml import etree

from qiosk_scraper.article import Link
from qiosk_scraper.extract.body import blocks_from_xml
from qiosk_scraper.extract.credits import is_lead_credit_line, split_credit
from qiosk_scraper.extract.dates import (
    _MONTH_NAMES,
    _dateparser,
    _written_day,
    disagree,
    parse_shown,
    parse_timestamp,
)
from qiosk_scraper.extract.page import NotAnArticle, decode_html, parse_html
from qiosk_scraper.extract.structured import linked_data, meta_tags

FETCHED = datetime(2025, 6, 18, 16, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Top image credit: The minister at the podium (Official State Department photo by "
            "Jo Bloggs)",
            ("The minister at the podium", "Official State Department photo by Jo Bloggs"),
        ),
        ("Top photo credit: (Creative Commons license)", (None, "Creative Commons license")),
        (
            "Top photo credit: Sailors on deck, Norfolk, May 3. (DoD photo by Petty Officer "
            "2nd Class Ann Lee)",
            ("Sailors on deck, Norfolk, May 3.", "DoD photo by Petty Officer 2nd Class Ann Lee"),
        ),
        (
            "Top image credit: Inspired by maps via shutterstock.com",
            (None, "Inspired by maps via shutterstock.com"),
        ),
        (
            "A runway at dusk (U.S. Air Force photo/Sam (Sammy) Doe)",
            ("A runway at dusk", "U.S. Air Force photo/Sam (Sammy) Doe"),
        ),
        ("A (parenthesis) inside, no credit", (None, "A (parenthesis) inside, no credit")),
        ("Unbalanced credit)", (None, "Unbalanced credit)")),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_split_credit_follows_the_trailing_parenthesis_rule(text, expected):
    assert split_credit(text) == expected


def test_lead_credit_lines_are_recognised_in_both_spellings():
    assert is_lead_credit_line("Top photo credit: x")
    assert is_lead_credit_line("top IMAGE credit:x")
    assert not is_lead_credit_line("The top photo credit goes to")


def test_structured_timestamps_keep_their_zone_and_naive_ones_are_new_york():
    assert parse_timestamp("2024-12-06T17:05:00Z") == datetime(2024, 12, 6, 17, 5, tzinfo=UTC)
    naive = parse_timestamp("2024-12-06T12:00:00")
    assert naive is not None and naive.astimezone(UTC).hour == 17
    assert parse_timestamp(None) is None
    assert parse_timestamp("0001-01-01T00:00:00+05:00") is None  # out of range in UTC


@pytest.mark.parametrize(
    "text",
    [
        "19 Nov 2019 07:09 GMT",
        "Tue, 19 Nov 2019 01:09:00 -0600",
        "November 19, 2019, 02:09 AM EST",
        "Tue Nov 19 2019 07:09:00 GMT+0000",
    ],
)
def test_structured_timestamps_written_otherwise_are_read_too(text):
    moment = parse_timestamp(text)
    assert moment is not None
    assert moment.astimezone(UTC) == datetime(2019, 11, 19, 7, 9, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "2 days ago", "Nov 2019", "soon"])
def test_relative_or_partial_structured_timestamps_are_refused(text):
    assert parse_timestamp(text) is None  # relative ones would read the clock


@pytest.mark.parametrize(
    "text", ["Dec 06, 2024", "December 06, 2024", "06 Dec 2024", "Updated Dec 06, 2024"]
)
def test_shown_dates_in_every_form_are_the_same_new_york_day(text):
    shown = parse_shown(text, FETCHED)
    assert shown is not None and not shown.exact
    assert shown.local_day.isoformat() == "2024-12-06"


@pytest.mark.parametrize(
    ("text", "minutes"), [("5h", 300), ("23m", 23), ("2 hours ago", 120), ("1d", 1440)]
)
def test_relative_shown_dates_resolve_against_fetched_at(text, minutes):
    shown = parse_shown(text, FETCHED)
    assert shown is not None and shown.exact
    assert (FETCHED - shown.moment).total_seconds() == minutes * 60


@pytest.mark.parametrize("text", ["", "Show less", "x" * 200, "soon", "Dec 45, 2024", None])
def test_unreadable_shown_dates_give_none(text):
    assert parse_shown(text, FETCHED) is None


def _written_forms() -> list[str]:
    """Dates in the common written forms and their near misses: every month spelling in three
    cases, both orders, every separator, impossible days, years at the ends of the fast range."""
    names = [*_MONTH_NAMES.split(), *(n[:3] for n in _MONTH_NAMES.split()), "sept", "mayo", "ju"]
    spellings = {s for n in names for s in (n, n.upper(), n.title())}
    days = ["0", "1", "06", "28", "29", "30", "31", "32", "006"]
    forms = []
    for i, month in enumerate(sorted(spellings)):
        year = ["1899", "1900", "2024", "2023", "2099", "2100", "0999"][i % 7]
        for day in days:
            forms += [f"{month} {day}, {year}", f"{day} {month} {year}"]
        forms += [f"{month}. 6 {year}", f"{month} 6 , {year}", f"{month} 6 ,{year}"]
        forms += [f"6 {month}., {year}", f"{month} 6{year}", f"{month}  6, {year}"]
    return [*forms, "Feb 29, 2024", "Feb 29, 2023", "29 Feb 2000", "29 Feb 1900"]


def test_shown_dates_read_without_dateparser_are_the_days_dateparser_reads():
    """The fast path for common written forms (most pages' shown dates) gives exactly the day
    dateparser gives, or leaves the text to it."""
    forms = _written_forms()
    fast = [form for form in forms if _written_day(" ".join(form.split())) is not None]
    assert len(fast) > len(forms) / 3  # it does take the common forms
    for form in forms:
        shown = parse_shown(form, FETCHED)
        moment = _dateparser(" ".join(form.split()))
        assert (shown.local_day if shown else None) == (moment.date() if moment else None), form


def test_a_late_evening_post_agrees_with_the_day_it_shows():
    structured = datetime(2025, 3, 5, 4, 30, tzinfo=UTC)  # 23:30 New York on March 4
    shown_day = parse_shown("Mar 04, 2025", FETCHED)
    assert shown_day is not None
    assert not disagree(structured, shown_day)
    far = parse_shown("Mar 07, 2025", FETCHED)
    assert far is not None and disagree(structured, far)


def test_decoding_follows_bom_then_declared_charset_then_utf8():
    text = (
        '<html><head><meta charset="windows-1252"></head>'
        "<body>caf\u00e9 \u2014 na\u00efve</body></html>"
    )
    assert decode_html(text.encode("cp1252")) == text
    latin = text.replace("windows-1252", "iso-8859-1")
    assert decode_html(latin.encode("cp1252")) == latin
    assert decode_html(codecs.BOM_UTF8 + "é".encode()) == "é"
    assert decode_html(codecs.BOM_UTF16_LE + "<p>é</p>".encode("utf-16-le")) == "<p>é</p>"
    assert decode_html("<p>é</p>".encode()) == "<p>é</p>"
    # bytes that are not what they declare (or declare nothing) are Windows-1252, as browsers
    # assume for English pages; charset guessers would say cp1250 and garble some letters
    wrong = '<meta charset="utf-8"><p>“Café” — déjà vu, naïve Zoë</p>'
    assert decode_html(wrong.encode("cp1252")) == wrong
    bare = "<p>“Café” — déjà vu, naïve Zoë</p>"
    assert decode_html(bare.encode("cp1252")) == bare


def test_parse_html_refuses_what_is_not_html():
    for data in (b"", b"   ", b"\x00\x01\x02 just bytes"):
        with pytest.raises(NotAnArticle):
            parse_html(data)
    tree = parse_html('<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>')
    assert tree.xpath("//p")[0].text == "x"


LD_OBJECT = (
    '{"@context":"https://schema.org","@type":"NewsArticle","headline":"A &amp; B",'
    '"author":[{"@type":"Person","name":"Ann Lee","url":"/author/alee/"}],'
    '"datePublished":"2024-12-06T17:05:00Z","image":[{"url":"https://x.org/a.jpg"}],'
    '"keywords":"Iran, Iraq"}'
)
LD_SHAPES = {
    "object": LD_OBJECT,
    "array": f'[{{"@type":"WebSite","name":"Site"}}, {LD_OBJECT}]',
    "graph": f'{{"@context":"https://schema.org","@graph":[{{"@type":"Organization","name":"O"}},{LD_OBJECT}]}}',
}


@pytest.mark.parametrize("shape", sorted(LD_SHAPES))
def test_json_ld_article_is_found_in_every_shape(shape):
    script = f'<script type="application/ld+json">{LD_SHAPES[shape]}</script>'
    page = f"<html><head>{script}</head><body></body></html>"
    data = linked_data(lxml.html.fromstring(page))
    assert data is not None
    assert data.headline == "A & B"
    assert [a.name for a in data.authors] == ["Ann Lee"]
    assert data.date_published == "2024-12-06T17:05:00Z"
    assert data.image == "https://x.org/a.jpg"
    assert data.keywords == ["Iran", "Iraq"]


def test_broken_json_ld_is_skipped_for_the_next_script():
    page = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArt</script>'
        f'<script type="application/ld+json">{"[" * 5000}</script>'
        f'<script type="application/ld+json">{LD_OBJECT}</script></head><body></body></html>'
    )
    data = linked_data(lxml.html.fromstring(page))
    assert data is not None and data.headline == "A & B"


def test_meta_tags_keep_first_values_every_article_tag_and_the_canonical():
    page = (
        '<html><head><meta property="og:title" content=" One ">'
        '<meta property="og:title" content="Two">'
        '<meta property="article:tag" content="Iran"><meta property="article:tag" content="Oil">'
        '<link rel="canonical" href="https://x.org/a/"></head><body></body></html>'
    )
    meta = meta_tags(lxml.html.fromstring(page))
    assert meta.get("og:title") == "One"
    assert meta.tags == ["Iran", "Oil"]
    assert meta.canonical == "https://x.org/a/"


def test_blocks_from_trafilatura_xml():
    xml = etree.fromstring(
        "<body><p>One<lb/>two <ref target='https://x.org/'>link</ref>.</p>"
        "<head rend='h2'>Sub</head><list><item>a</item><item>b</item></list>"
        "<quote><p>q1</p><p>q2</p></quote>"
        "<table><row><cell>h1</cell><cell>h2</cell></row><row><cell>1</cell><cell/></row></table>"
        "<p>Show less</p><p>Top photo credit: A (B)</p><p>  </p></body>"
    )
    body = blocks_from_xml(xml)
    assert body.blocks == ["One two link.", "Sub", "a", "b", "q1", "q2", "h1 | h2", "1 |"]
    assert body.links == [Link("https://x.org/", "link")]
    assert body.lead_credit == "Top photo credit: A (B)"
