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
