"""Discovery: what sitemaps, feeds and pages lead to, as pure functions (no network, no crawl
state). Kept apart from ``extract`` so that changing how links are found never changes the
extractor version of the archived records."""
