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
# Scrapy starts this many asyncio tasks for every callback's output; ours yield one item at most.
CONCURRENT_ITEMS = 4
TELNETCONSOLE_ENABLED = False  # no listening port on a researcher's machine
REMOTE_CONTROL_ENABLED = False  # nor this one
LOG_LEVEL = "INFO"  # DEBUG logs every request: too much for a 10,000-page crawl

DOWNLOAD_TIMEOUT = 30  # a news page comes whole in seconds; not 180 s a silent server x retries
# Scrapy's HTTP/1.1 handler whose downloads in flight a stop signal cancels (stopping.py).
DOWNLOAD_HANDLERS = {
    "http": "qiosk_scraper.stopping.StoppableDownloadHandler",
    "https": "qiosk_scraper.stopping.StoppableDownloadHandler",
}

# Retries: backoff between attempts, Retry-After honoured (see BackoffRetryMiddleware).
RETRY_TIMES = 4  # a transient outage of the outlet should not lose pages
QIOSK_RETRY_BACKOFF_BASE = 2.0  # seconds before the first retry, doubled each attempt
QIOSK_RETRY_BACKOFF_MAX = 300.0  # cap of any wait, Retry-After included

# Limits (issue 8): an article page of the outlet is well under 1 MB; the cap applies to the
# body as received and, in HttpCompressionMiddleware and the guard, to what it decodes to.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024  # a bigger page is refused (errors.kind "oversized")
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024  # log pages this big: the outlet's are far smaller
QIOSK_SITEMAP_MAXSIZE = 50 * 1024 * 1024  # sitemaps: the sitemap protocol's own limit
# Only the content codings whose bodies the guard checks whole (Scrapy's gunzip keeps a cut
# stream's first half; br and zstd are not checked), with Scrapy's other defaults.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate",
}

DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt is fetched for a host (RobotsTxtMiddleware: 100): every request URL.
    "qiosk_scraper.middlewares.RequestGuardMiddleware": 60,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,  # replaced by the next line
    "qiosk_scraper.middlewares.BackoffRetryMiddleware": 550,
    # The decoded answer (after HttpCompressionMiddleware: 590): empty, not HTML, charset.
    "qiosk_scraper.middlewares.PageGuardMiddleware": 580,
    # The raw answer, before RedirectMiddleware (600) follows it: redirects, content codings.
    "qiosk_scraper.middlewares.ResponseGuardMiddleware": 610,
    # Nearest the downloader: sees every raw response (redirects, errors, compressed bodies).
    "qiosk_scraper.middlewares.WarcCaptureMiddleware": 950,
}
# A callback failing on a page is an errors row ("parse_error"), not a lost crawl.
SPIDER_MIDDLEWARES = {"qiosk_scraper.middlewares.SpiderFailureMiddleware": 40}
ITEM_PIPELINES = {"qiosk_scraper.pipelines.ArchivePipeline": 300}

QIOSK_EXTRACT_WORKERS = None  # processes beside the reactor (extraction, page links): one a core
QIOSK_WARC_MAX_BYTES = 1_000_000_000  # rotate WARC files at 1 GB
# The live progress line (qiosk_scraper.crawl.CrawlProgress): `qiosk crawl` enables the extension
# and this on a terminal.
QIOSK_PROGRESS = False
