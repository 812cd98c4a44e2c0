"""Extraction: a pure function from a fetched page to an article record (the teasers of a
listing page are :mod:`qiosk_scraper.discover.listing`'s)."""

from qiosk_scraper.extract.article import extract_article
from qiosk_scraper.extract.page import NotAnArticle

__all__ = ["NotAnArticle", "extract_article"]
