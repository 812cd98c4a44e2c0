"""Scrapy settings of the ``outlet`` spider: only departures from Scrapy's defaults.

The defaults are for the real site (polite); ``qiosk crawl --delay 0`` (or ``-a delay=0``) turns
the politeness off for the local mirror. Options read by the toolkit's own components start with
``QIOSK_``.
"""

from qiosk_scraper import __version__

BOT_NAME = "qiosk_scraper"
SPIDER_MODULES = ["qiosk_scraper.spiders"]  # where `scrapy crawl outlet` finds the spider
NEWSPIDER_MODULE = "qiosk_scraper.spiders"  # where `scrapy genspider` would put one

# Who we are and how to reach us: the outlet's admins see this in their logs.
QIOSK_CONTACT_URL = "https://github.com/qiosk-scraper/qiosk-scraper"
USER_AGENT = f"qiosk-scraper/{__version__} (research archive; +{QIOSK_CONTACT_URL})"

ROBOTSTXT_OBEY = True  # the outlet's robots.txt is law
DOWNLOAD_DELAY = 1.0  # about one request a second
CONCURRENT_REQUESTS_PER_DOMAIN = 1  # one request at a time to the outlet
AUTOTHROTTLE_ENABLED = True  # slow down further when the site slows down
AUTOTHROTTLE_START_DELAY = 1.0  # start at the polite delay, not Scrapy's 5 s
TELNETCONSOLE_ENABLED = False  # no listening port on a researcher's machine
REMOTE_CONTROL_ENABLED = False  # nor this one
LOG_LEVEL = "INFO"  # DEBUG logs every request: too much for a 10,000-page crawl

# Retries: backoff between attempts, Retry-After honoured (see BackoffRetryMiddleware).
RETRY_TIMES = 4  # a transient outage of the outlet should not lose pages
QIOSK_RETRY_BACKOFF_BASE = 2.0  # seconds before the first retry, doubled each attempt
QIOSK_RETRY_BACKOFF_MAX = 300.0  # cap of any wait, Retry-After included

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,  # replaced by the next line
    "qiosk_scraper.middlewares.BackoffRetryMiddleware": 550,
    # Nearest the downloader: sees every raw response (redirects, errors, compressed bodies).
    "qiosk_scraper.middlewares.WarcCaptureMiddleware": 950,
}
ITEM_PIPELINES = {"qiosk_scraper.pipelines.ArchivePipeline": 300}
EXTENSIONS = {"qiosk_scraper.crawl.CrawlProgress": 500}

QIOSK_WARC_MAX_BYTES = 1_000_000_000  # rotate WARC files at 1 GB
QIOSK_PROGRESS = False  # the live progress line; `qiosk crawl` turns it on on a terminal
