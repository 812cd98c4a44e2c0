"""A deterministic local imitation of responsiblestatecraft.org (see
``../shared/outlet-anatomy.md``), for the crawler, the extractor tests, the demo and the benchmarks.

Python API::

    from qiosk_scraper.mirror import Site, running_mirror
    site = Site(articles=120, seed=1, edition=1)   # layout="single", era="rebelmouse"
    Site(layout="split")          # every article in one layout family (``layouts.FAMILIES``)
    Site(layout="mixed")          # a family drawn per article from the seed
    Site(era="wordpress")         # an old capture: every article at its date path, WordPress
    site.gold(base_url)          # {slug: record} in Article.to_record(extras=False) form
    site.listings_of(slug)       # section labels of the listings the article is on
    site.edge_cases()            # {edge case: [slugs]}
    site.changes()               # edition >= 2: {"edited", "new", "deleted", "moved"}
    with running_mirror(articles=120, seed=1) as mirror:
        mirror.base_url, mirror.hits   # "http://127.0.0.1:PORT", Counter of request targets
        mirror.hits.not_modified       # number of 304 answers
    with running_mirror(articles=60, faults="all,timeout=2") as mirror:
        mirror.faults                  # FaultPlan: which URLs fail how (see ``faults``)

The site has a fixed "now" (``Site.now``, from seed and edition; no clock is read), at least 60
articles, the oldest few from the WordPress era (some rendered in place at their
``/YYYY/MM/DD/<long-slug>/`` canonical, some 301 to a short slug). Edition ``k`` (2..7) applies
``k - 1`` rounds of changes: three articles edited (body and modified), three new, one deleted
(410), one moved to a new slug (301); bodies keep linking to edition-1 URLs, as real ones do.

Layout families (``layouts``, anatomy sections 4, 7, 8) change the markup and never the gold
(except ``promo``'s embedded tweet, which is article text): ``split`` renders the post twice (a
head copy with headline and byline in ``div.post-head.main-post-head``, a second copy with the
hero, its ``div.photo-credit`` and the body in ``div.post-head.post-body``), JSON-LD in CDATA,
keywords only in meta/JSON-LD, ``og:image`` another crop of the hero, promo lines and a tweet in
the body; ``jsonld-cdata``/``-graph``/``-array`` (tags only as JSON-LD keywords), ``jsonld-none``;
``tags-keywords``, ``tags-other`` (``a[rel=tag]`` under other class names); ``credit-photo``,
``credit-small`` (``small.media-photo-credit``), ``credit-figcaption`` (hero and in-body images
as ``figure > img + figcaption``), ``credit-line`` (only a "Top image credit:" line); ``og-crop``;
``promo`` ("ALSO READ:" lines, not body text, and an embedded tweet). The WordPress era
(:mod:`wordpress`) is described there.

Markup of the default ``single`` family (RebelMouse conventions, anatomy section 4):

- post: ``div.widget.post-partial[data-category] > article.page-article.post-<id>[elid]``;
  lead image ``div.widget__head picture > img.rm-hero-media`` (alt as written, may be empty or a
  file name), its credit either in ``div.photo-credit`` next to the image (text
  ``caption (credit)``) or as the last paragraph of the body, ``<p><em>Top photo credit: ...</em>``
  or ``Top image credit: ...``;
- ``h1.widget__headline.h1 > a.widget__headline-text``; dek ``h2.widget__subheadline-text.h2``
  (absent when there is none);
- label ``div.widget__section-label > a.widget__section`` twice (type, then primary section),
  shown as ``Analysis | Middle East``; repeated after the article (``.post-footer-label``);
- byline ``div.social-author > a.social-author__name`` per author (no ``href`` for a contributor
  without a profile), ``span[data-authors="A, B"]``, ``div.social-date > span.social-date__text``
  (``Dec 06, 2024``; ``December 06, 2024`` on posts from the WordPress era; ``47m`` / ``5h`` for
  posts younger than 24 h relative to the site's fixed now), ``span.social-date-modified__text``
  ("Updated Dec 08, 2024") on updated posts. Shown dates are New York time;
- body ``div.body.js-expandable > div.body-description``; tags ``div.post-tags-primary >
  a.tags-primary-link[href=/tag/<slug>/]``; bios ``.post-author-list .social-author__bio``;
- meta: og:title/description/url/image (og:image on another host for one article),
  article:published_time / article:modified_time (always present; equal when never updated),
  article:section, article:tag, rel=canonical, rel=alternate RSS; JSON-LD NewsArticle as a plain
  object, an array with a BreadcrumbList, or inside ``@graph``; ``window.REBELMOUSE_BOOTSTRAP_DATA``
  with siteId, resourceId, postId;
- noise: header "Follow us on social", "google cta" image links, icon-only share panel
  ``.widget__shares``, ``div.ad-tag`` (also inside the body), ``.around-the-web``, ``.post-pager``,
  ``.regwall-container``, a teaser stream ``div.posts-custom.section-holder`` of cards with
  ``Top image credit`` lines and the ``keep reading`` / ``Show less`` expander, "Want more of
  our stories on Google?", sidebars "LATEST" and "QIOSK" whose lists are empty, the "Newsletter"
  box.

Gold body conventions (``Site.gold``): the body is the elements of ``div.body-description`` in
order; one block per ``p``, ``h2``, ``h3``, list item (``ul``/``ol > li``), paragraph of a
``blockquote``, table row (header row included, cells joined by `` | ``); blocks joined by a blank
line; white space collapsed with ``str.split`` semantics (so NBSP becomes a space); empty
paragraphs (``<p>&nbsp;</p>``), ad tags, in-body images (``p.shortcode-media``: caption and
credit go to ``images``) and the "Top photo/image credit" paragraph are not body. An embedded
tweet (``blockquote.twitter-tweet``) gives two blocks: the tweet's ``p`` text, then its
attribution line ``— Name (@handle) Month D, YYYY`` (the text after the ``p``, the em dash
included). ``links`` are every ``a[href]`` inside those blocks (the tweet's status link too),
made absolute, text collapsed. Images: lead first (caption and credit split by the outlet's
rule: a trailing parenthesis is the credit), then in-body images with their ``media-caption`` and
``media-photo-credit`` texts.
"""

from qiosk_scraper.mirror.faults import KINDS, Fault, FaultPlan, FaultSpec, FaultSpecError
from qiosk_scraper.mirror.server import Hits, MirrorServer, RunningMirror, running_mirror
from qiosk_scraper.mirror.site import MirrorError, Site

__all__ = [
    "KINDS",
    "Fault",
    "FaultPlan",
    "FaultSpec",
    "FaultSpecError",
    "Hits",
    "MirrorError",
    "MirrorServer",
    "RunningMirror",
    "Site",
    "running_mirror",
]
