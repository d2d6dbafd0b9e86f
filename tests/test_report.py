"""The batch report you can drill into, opened in a real browser, and what a regrade changed.

One small class is graded once for the module: a correct solution, a one-bug variant, the stub,
and a disguised copy of the correct one handed in as a notebook (so the similarity section has
something to show). Headless Chromium (Debian's chromium and chromium-driver, installed by
`make system-deps`) loads report.html from disk and follows the links.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import CORPUS, ROOT
from similarity_helpers import disguise, notebook

from autograder.batch import run_batch
from autograder.course import Assignment

SLUG = "broadcasting"
REFERENCE = (ROOT / f"solutions/{SLUG}/{SLUG}.py").read_text()


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(course, submissions, out) after one batch run."""
    base = tmp_path_factory.mktemp("report")
    course = base / "course"
    shutil.copytree(ROOT / f"assignments/{SLUG}", course / f"assignments/{SLUG}")
    shutil.copytree(ROOT / f"solutions/{SLUG}", course / f"solutions/{SLUG}")
    shutil.copytree(ROOT / f"student_template/{SLUG}", course / f"student_template/{SLUG}")
    manifest = course / f"assignments/{SLUG}/assignment.toml"
    # Short timing, and a curve that gives every correct submission the speed points: these tests are
    # about the report and the regrade diff, which timing noise on a loaded machine would blur.
    text = manifest.read_text()
    for key, value in (("full_at", "1000.0"), ("zero_at", "2000.0"), ("sizes.cpu", "{ n = 128, m = 128, d = 16 }")):
        text, count = re.subn(rf"^{re.escape(key)} = .*$", f"{key} = {value}", text, flags=re.MULTILINE)
        assert count == 1, key  # one [[timed]] entry
    manifest.write_text(text)
    subs = base / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text((CORPUS / SLUG / "correct_einsum.py").read_text())
    (subs / "bob.py").write_text((CORPUS / SLUG / "bug_unbiased_std.py").read_text())
    (subs / "carol.py").write_text((course / f"student_template/{SLUG}/{SLUG}.py").read_text())
    (subs / "dan o'neil.ipynb").write_text(notebook(disguise((CORPUS / SLUG / "correct_einsum.py").read_text())))
    out = base / "out"
    summary = run_batch(Assignment(course / f"assignments/{SLUG}", course), subs, out, jobs=2)
    assert summary.graded_now == 4 and summary.framework_errors == []
    assert summary.flagged_pairs >= 1
    flagged = [set(r.split(",")[1:3]) for r in (out / "similarity.csv").read_text().splitlines()[1:]
               if r.endswith(",yes")]
    assert {"alice", "dan o'neil"} in flagged  # the disguised copy (bob's one-bug file also derives from alice's)
    return course, subs, out


def test_every_student_and_test_has_a_page_that_the_report_links(graded):
    _, _, out = graded
    report = (out / "report.html").read_text()
    for student in ("alice", "bob", "carol", "dan o'neil"):
        href = f"students/{quote(student, safe='')}.html"
        assert f"href='{href}'" in report
        page = (out / "students" / f"{student}.html").read_text()
        assert "Staff only" in page and "seconds to grade" in page
    bob = (out / "students/bob.html").read_text()
    feedback = (out / "feedback/bob.md").read_text()
    assert "standardize" in feedback and feedback.splitlines()[2].replace("*", "") in bob.replace("*", "")
    tests = sorted((out / "tests").glob("test-*.html"))
    assert len(tests) == report.count("href='tests/test-") // 2  # name and count both link
    longest = "pairwise_sq_dists: float64, non-contiguous, batch 1, empty, large values"
    assert longest in report  # whole test names, never cut
    standardize = next(p for p in tests if "<h1>standardize: values</h1>" in p.read_text()).read_text()
    assert "students/bob.html" in standardize and "students/carol.html" in standardize
    assert "students/alice.html" not in standardize
    assert "similarity/pair-0001.html" in report and "flagged" in report


def _chromium():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("headless Chromium is not installed (make system-deps installs chromium and chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium missing: pip install -e '.[browser]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1600", "--allow-file-access-from-files"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_opens_from_disk_in_chromium_and_links_lead_to_students_and_tests(graded, tmp_path):
    from selenium.webdriver.common.by import By

    _, _, out = graded
    browser = _chromium()
    try:
        browser.get((out / "report.html").as_uri())
        assert "batch report" in browser.title
        images = browser.find_elements(By.TAG_NAME, "img")
        assert len(images) >= 3 and all(browser.execute_script("return arguments[0].naturalWidth", i) > 100
                                        for i in images)  # the inline figures decoded
        browser.find_element(By.LINK_TEXT, "bob").click()
        assert browser.current_url.endswith("/students/bob.html")
        assert "What bob sees" in browser.find_element(By.TAG_NAME, "body").text
        browser.find_element(By.PARTIAL_LINK_TEXT, "standardize: values").click()
        assert "/tests/test-" in browser.current_url
        failing = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "td a")]
        assert "bob" in failing and "alice" not in failing
        browser.find_element(By.PARTIAL_LINK_TEXT, "class report").click()
        browser.find_element(By.LINK_TEXT, "side by side").click()
        assert "/similarity/pair-0001.html" in browser.current_url
        assert len(browser.find_elements(By.TAG_NAME, "mark")) >= 2  # shared regions on both sides
        shot = tmp_path / "report.png"
        browser.get((out / "report.html").as_uri())
        assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        browser.quit()


def test_a_grader_change_lists_every_changed_score_and_the_tests_responsible(graded, tmp_path):
    course0, subs, out0 = graded
    course, out = tmp_path / "course", tmp_path / "out"
    shutil.copytree(course0, course)
    shutil.copytree(out0, out)
    assignment = Assignment(course / f"assignments/{SLUG}", course)
    before = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    manifest = course / f"assignments/{SLUG}/assignment.toml"
    old_group = 'title = "standardize: values"\npoints = 1\n'
    assert old_group in manifest.read_text()
    old_points = 1
    manifest.write_text(manifest.read_text().replace(old_group, old_group.replace("= 1", "= 3")))  # the change

    summary = run_batch(assignment, subs, out, jobs=2, similarity=False)
    assert summary.graded_now == 4  # the graders changed: everyone is re-graded
    after = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    changed = {s for s in after if after[s]["score"] != before[s]["score"]}
    assert {"alice", "dan o'neil"} <= changed and "carol" not in changed  # the stub earns 0 either way
    rows = {r["student"]: r for r in csv.DictReader(open(out / "changes.csv"))}
    assert set(rows) == changed
    for student in changed:
        assert rows[student]["old_score"] == before[student]["score"]
        assert rows[student]["new_score"] == after[student]["score"]
        assert rows[student]["cause"] == "graders"
        assert rows[student]["tests"].startswith("standardize: values: ") and ";" not in rows[student]["tests"]
    assert rows["alice"]["tests"] == f"standardize: values: {old_points:g} -> {old_points + 2:g}"
    report = (out / "report.html").read_text()
    assert "What the last regrade changed" in report and "standardize: values: " in report

    again = run_batch(assignment, subs, out, jobs=2, similarity=False)  # nothing changed: nothing re-graded
    assert again.graded_now == 0
    assert set(r["student"] for r in csv.DictReader(open(out / "changes.csv"))) == changed  # kept
