"""The benchmark's shingle scoring and ``qiosk eval``'s per-field comparison."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from qiosk_scraper.evaluate import (
    EvalError,
    corpus_f1,
    evaluate,
    find_cases,
    page_f1,
    shingle_match,
)

GOLDEN = Path(__file__).parent / "golden"


def test_identical_texts_score_one_and_disjoint_texts_zero():
    text = "one two three four five six"
    assert page_f1(text, text) == 1.0
    assert page_f1(text, "seven eight nine ten eleven") == 0.0
    assert page_f1("", "") == 1.0


def test_shingles_are_counted_with_multiplicity_and_normalised_per_page():
    # truth has shingles (a b c d), (b c d e); the prediction only the first one
    assert shingle_match("a b c d e", "a b c d") == (0.5, 0.0, 0.5)
    # punctuation and case are not tokens: only \w+ runs matter
    assert shingle_match("A, b. c! d", "A b c d") == (1.0, 0.0, 0.0)
    # repeated text counts twice
    assert shingle_match("w x y z w x y z", "w x y z") == pytest.approx((0.2, 0.0, 0.8))


def test_corpus_f1_averages_precision_and_recall_over_pages():
    scores = [shingle_match("a b c d e", "a b c d"), shingle_match("p q r s", "p q r s")]
    f1, precision, recall = corpus_f1(scores)
    assert precision == 1.0
    assert recall == pytest.approx(0.75)
    assert f1 == pytest.approx(2 * 0.75 / 1.75)


def test_golden_pages_score_perfectly():
    report = evaluate(find_cases(GOLDEN))
    assert len(report.pages) == len(list(GOLDEN.glob("*.json")))
    assert all(p.error is None and not p.mismatches for p in report.pages)
    assert report.f1_min == 1.0


def test_a_wrong_gold_field_is_reported(tmp_path):
    for suffix in ("html", "json"):
        shutil.copy(GOLDEN / f"rm-full.{suffix}", tmp_path / f"page.{suffix}")
    gold = json.loads((tmp_path / "page.json").read_text(encoding="utf-8"))
    gold["authors"] = gold["authors"][:1]
    gold["body"] = gold["body"][: len(gold["body"]) // 2]
    del gold["word_count"]  # derived from the body when absent
    (tmp_path / "page.json").write_text(json.dumps(gold), encoding="utf-8")
    (result,) = evaluate(find_cases(tmp_path)).pages
    assert set(result.mismatches) == {"authors", "word_count"}
    assert 0.5 < result.f1 < 1.0


def test_gzipped_pages_and_mirror_builds_are_found(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.html.gz").write_bytes(gzip.compress((GOLDEN / "rm-fresh.html").read_bytes()))
    shutil.copy(GOLDEN / "rm-fresh.json", flat / "a.json")
    assert [c.page.name for c in find_cases(flat)] == ["a.html.gz"]

    build = tmp_path / "build"
    (build / "gold").mkdir(parents=True)
    (build / "ceasefire-monitors").mkdir()
    shutil.copy(GOLDEN / "rm-fresh.html", build / "ceasefire-monitors" / "index.html")
    shutil.copy(GOLDEN / "rm-fresh.json", build / "gold" / "ceasefire-monitors.json")
    (case,) = find_cases(build)
    assert case.page == build / "ceasefire-monitors" / "index.html"
    assert evaluate([case]).pages[0].mismatches == {}


@pytest.mark.parametrize("content", [None, "{}", "not json"])
def test_unusable_directories_raise_eval_error(tmp_path, content):
    if content is not None:
        (tmp_path / "x.html").write_text("<html></html>")
        (tmp_path / "x.json").write_text(content)
    with pytest.raises(EvalError):
        find_cases(tmp_path)
    with pytest.raises(EvalError):
        find_cases(tmp_path / "missing")


def test_a_mirror_gold_without_its_page_is_an_error(tmp_path):
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / "x.json").write_text(json.dumps({"url": "http://h/x/"}))
    with pytest.raises(EvalError, match="no page"):
        find_cases(tmp_path)
