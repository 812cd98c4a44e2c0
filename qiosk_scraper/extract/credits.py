"""Image captions and credits, split by the outlet's rule: a trailing parenthesis is the credit
and the text before it the caption; without one, the whole text is the credit."""

from __future__ import annotations

import re

_LEAD_PREFIX = re.compile(r"^\s*top\s+(?:photo|image)\s+credit\s*:\s*", re.I)


def is_lead_credit_line(text: str) -> bool:
    """True for a "Top photo credit: ..." / "Top image credit: ..." line."""
    return _LEAD_PREFIX.match(text) is not None


def _trailing_parenthesis(text: str) -> int | None:
    """Index of the "(" that opens the parenthesis closing ``text``, if it ends with one."""
    if not text.endswith(")"):
        return None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        if text[index] == ")":
            depth += 1
        elif text[index] == "(":
            depth -= 1
            if depth == 0:
                return index
    return None


def split_credit(text: str | None) -> tuple[str | None, str | None]:
    """``(caption, credit)`` of one caption line (a "Top photo credit:" prefix is dropped)."""
    if not text:
        return None, None
    text = " ".join(_LEAD_PREFIX.sub("", text).split())
    if not text:
        return None, None
    opening = _trailing_parenthesis(text)
    if opening is None:
        return None, text
    caption = text[:opening].strip() or None
    credit = text[opening + 1 : -1].strip() or None
    return caption, credit


_LABEL = re.compile(r"^(?:photo(?:graph)?|image|picture|credit|photo\s+credit)s?\s*:\s*", re.I)
_AGENCY = (
    r"getty\s+images|shutterstock(?:\.com)?|reuters|afp|ap(?:\s+photo)?|associated\s+press|epa"
    r"|alamy|bloomberg|anadolu|xinhua|wikimedia\s+commons|flickr|unsplash|dpa|sipa"
)
_CREDIT_SEGMENT = re.compile(
    rf"""^(?:
        (?i:(?:photo(?:graph)?|image|picture|credit|photo\s+credit)s?\s*:)\s*\S.*  # "Photo: X"
      | (?:\S+\s+){{0,3}}(?i:photo(?:graph)?\s+by)\s+\S.*                          # "Photo by X"
      | (?:\S+\s+){{0,5}}\S*/\s*[A-Z][\w.&'-]*(?:\s+[A-Z][\w.&'-]*){{0,4}}        # "X/Getty Images"
      | (?:\S+\s+){{0,6}}via\s+(?:[A-Z][\w.&-]*|[\w-]+\.(?:com|org|net))     # "X via Reuters"
        (?:\s+[A-Z][\w.&-]*)*
      | (?:\S+\s+){{0,4}}(?i:{_AGENCY})                                          # "Jo Doe Reuters"
    )\.?$""",
    re.X,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s+[|–—]\s+")


def is_credit_like(text: str) -> bool:
    """True for a text that reads as a photo credit rather than a caption."""
    return len(text) <= 140 and _CREDIT_SEGMENT.match(text.strip()) is not None


def strip_label(segment: str) -> str:
    """A credit without its "Photo:" / "Credit:" label."""
    return _LABEL.sub("", segment.strip()).rstrip(".").strip() or segment.strip()


def split_caption(text: str | None) -> tuple[str | None, str | None]:
    """``(caption, credit)`` of a caption element (figcaption, ``[class*=caption]``): a trailing
    parenthesis is the credit (the outlet's rule); else a last sentence that reads as a credit
    ("Photo: X", "Photo by X", "X/Getty Images", "X via Reuters"); else the text is a caption."""
    text = " ".join((text or "").split())
    if not text:
        return None, None
    if _trailing_parenthesis(text) is not None:
        return split_credit(text)
    pieces = _SENTENCE_END.split(text)
    if len(pieces) == 1 and is_credit_like(text):
        return None, strip_label(text)
    if len(pieces) > 1 and is_credit_like(pieces[-1]):
        caption = text[: len(text) - len(pieces[-1])].rstrip(" |–—").strip()
        return caption or None, strip_label(pieces[-1])
    return text, None


def unwrap(credit: str) -> str:
    """A credit given on its own loses the parentheses that wrap all of it."""
    caption, inner = split_credit(credit)
    return inner if caption is None and inner and credit.startswith("(") else credit
