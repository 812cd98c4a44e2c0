"""Profiles: what the toolkit knows of one outlet, in one place, as plain data and pure
functions; the crawl machinery (spider, middlewares, pipeline, archive) knows no outlet.

A :class:`Profile` names the hosts it is chosen by, the discovery sources the outlet offers and
where their first pages are (robots.txt, sitemaps, feeds, the home page), how to read an
article page and a listing page for what they lead to (:mod:`qiosk_scraper.discover`), and
whether the outlet's own extraction layers apply. It is chosen by name (``--profile``) or by
the site's host; a host no profile knows is crawled with :data:`GENERIC`, from its sitemaps and
feeds, with the generic extraction path. Nothing here looks at how the local mirror differs
from the real site: the mirror is crawled with the profile of the outlet it imitates.
"""

from __future__ import annotations

from qiosk_scraper.profiles.base import SOURCES, Profile, UnknownProfile
from qiosk_scraper.profiles.generic import GENERIC
from qiosk_scraper.profiles.responsiblestatecraft import RESPONSIBLE_STATECRAFT

__all__ = ["SOURCES", "Profile", "UnknownProfile", "profile_for", "profile_named", "profiles"]


def profiles() -> dict[str, Profile]:
    """Every profile by name."""
    return {profile.name: profile for profile in (RESPONSIBLE_STATECRAFT, GENERIC)}


def profile_named(name: str) -> Profile:
    known = profiles()
    if name not in known:
        raise UnknownProfile(f"no profile {name!r}: choose from {', '.join(sorted(known))}")
    return known[name]


def profile_for(site: str, name: str | None = None) -> Profile:
    """The profile named ``name``; without a name, the one that knows the site's host, else
    the generic profile."""
    if name:
        return profile_named(name)
    known = profiles()
    return next((p for p in known.values() if p.knows(site)), known["generic"])
