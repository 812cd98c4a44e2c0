from __future__ import annotations

import pytest

from qiosk_scraper.urls import canonicalize, is_tracking_parameter, same_site

SITE = "https://responsiblestatecraft.org"


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        (f"{SITE}/golden-dome/", f"{SITE}/golden-dome/"),
        (f"{SITE}/golden-dome", f"{SITE}/golden-dome/"),
        (f"{SITE}/golden-dome/?ref=readtangle.com", f"{SITE}/golden-dome/"),
        (
            f"{SITE}/golden-dome/?ct=t(RSS_EMAIL_CAMPAIGN)&mc_cid=ab12&mc_eid=cd34",
            f"{SITE}/golden-dome/",
        ),
        (f"{SITE}/golden-dome?utm_source=twitter&utm_medium=social", f"{SITE}/golden-dome/"),
        (f"{SITE}/golden-dome/?UTM_Campaign=x&fbclid=IwAR0", f"{SITE}/golden-dome/"),
        (f"{SITE}/golden-dome/#comments", f"{SITE}/golden-dome/"),
        ("HTTPS://ResponsibleStatecraft.ORG/golden-dome", f"{SITE}/golden-dome/"),
        ("https://responsiblestatecraft.org:443/golden-dome", f"{SITE}/golden-dome/"),
        ("  https://responsiblestatecraft.org/golden-dome \n", f"{SITE}/golden-dome/"),
        (f"{SITE}/2019/12/04/a-long-title-slug", f"{SITE}/2019/12/04/a-long-title-slug/"),
        (f"{SITE}", f"{SITE}/"),
        (f"{SITE}?utm_source=x", f"{SITE}/"),
        ("http://127.0.0.1:8765/golden-dome?ref=x", "http://127.0.0.1:8765/golden-dome/"),
        ("http://127.0.0.1:80/golden-dome", "http://127.0.0.1/golden-dome/"),
    ],
)
def test_variants_share_one_canonical_url(variant: str, canonical: str) -> None:
    assert canonicalize(variant) == canonical


@pytest.mark.parametrize(
    "url",
    [
        f"{SITE}/feeds/feed.rss",
        f"{SITE}/sitemap.xml",
        f"{SITE}/feeds/sitemaps/sitemap_2.xml",
        f"{SITE}/media-library/photo.jpg?id=123&width=1200&height=800&quality=90",
        f"{SITE}/res/load_more_posts/data.js?site_id=1&resource_id=2&pn=3&exclude_post_ids=4%2C5",
        f"{SITE}/tag/u-s-foreign-policy/page/2/",
        f"{SITE}/search/?q=a+b",
    ],
)
def test_file_paths_and_meaningful_queries_are_kept_verbatim(url: str) -> None:
    assert canonicalize(url) == url


def test_only_tracking_parameters_are_dropped_and_order_is_kept() -> None:
    url = f"{SITE}/res/load_more_posts/data.js?pn=2&utm_source=x&site_id=9&ref=y&id=3"
    assert canonicalize(url) == f"{SITE}/res/load_more_posts/data.js?pn=2&site_id=9&id=3"


def test_canonicalize_is_idempotent() -> None:
    for url in (f"{SITE}/a?utm_x=1&b=2#f", f"{SITE}", f"{SITE}/x.rss?ref=1"):
        once = canonicalize(url)
        assert canonicalize(once) == once


def test_non_http_urls_come_back_unchanged() -> None:
    assert canonicalize("mailto:info@example.org") == "mailto:info@example.org"
    assert canonicalize("/relative/path?utm_source=x") == "/relative/path?utm_source=x"


def test_tracking_parameter_names() -> None:
    assert is_tracking_parameter("utm_content")
    assert is_tracking_parameter("FBCLID")
    assert not is_tracking_parameter("id")
    assert not is_tracking_parameter("pn")


def test_same_site() -> None:
    assert same_site(f"{SITE}/x/", SITE)
    assert same_site("https://www.responsiblestatecraft.org/x/", SITE)
    assert not same_site("https://quincyinst.org/x/", SITE)
    assert not same_site("http://127.0.0.1:9000/x/", "http://127.0.0.1:8000")
    assert not same_site("mailto:x@responsiblestatecraft.org", SITE)
