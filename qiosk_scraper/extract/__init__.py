"""Extraction: pure functions from a fetched page to an article record or listing teasers."""

from qiosk_scraper.extract.article import extract_article
from qiosk_scraper.extract.listing import Teaser, extract_listing
from qiosk_scraper.extract.page import NotAnArticle

__all__ = ["NotAnArticle", "Teaser", "extract_article", "extract_listing"]
