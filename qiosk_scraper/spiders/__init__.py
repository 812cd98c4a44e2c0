"""Scrapy spiders of the toolkit (``scrapy crawl outlet``)."""
