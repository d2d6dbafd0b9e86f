"""Which submissions look copied: every pair compared with copydetect's winnowed fingerprints.

    report = compare_class(assignment, Path("submissions"))
    write_similarity(report, Path("out"))   # similarity.html, similarity.csv, similarity/pair-NNN.html

copydetect (MOSS's winnowing, Schleimer, Wilkerson and Aiken 2003) tokenizes each file with
pygments, replaces every identifier by ``V``/``F``, every string by ``S`` and drops comments and
whitespace, then keeps a fingerprint per 25-token window. So renamed variables, rewritten comments
and reordered functions leave the fingerprints of a copy unchanged. The stub's own fingerprints are
boilerplate and removed from every file before comparing. Notebooks count by their code cells.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.batch.discover import discover

NOISE_TOKENS = 25  # copydetect's default: shorter matches are noise
FLAG_AT = 0.5  # a pair is flagged when half of either file's own code is shared (see docs/ta-tools.md)
MIN_TOKENS = 60  # fewer fingerprinted tokens of its own (beyond the stub): too little code to judge
MAX_SOURCE_BYTES = 1 << 20
SHOWN = 200  # pairs that get a side-by-side page
TOP_IN_REPORT = 20


@dataclass
class Pair:
    a: str
    b: str
    share_a: float  # fraction of a's own code found in b
    share_b: float
    fp_a: Any = field(repr=False)  # copydetect.CodeFingerprint
    fp_b: Any = field(repr=False)

    @property
    def score(self) -> float:
        """The mean of both shares: a copy shares most of both files; a solution that merely repeats
        a pattern many times can share much of one file and little of the other."""
        return (self.share_a + self.share_b) / 2


@dataclass
class SimilarityReport:
    pairs: list[Pair]  # most similar first; pairs sharing nothing are left out
    sources: dict[str, str]
    skipped: dict[str, str]  # student -> why it was not compared
    seconds: float
    flag_at: float = FLAG_AT

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.score >= self.flag_at]


def submission_code(path: Path, module_file: str) -> str:
    """The code a student handed in: the module, or a notebook's code cells (markdown and outputs dropped)."""
    from autograder.submission import SubmissionError, choose_module, stage

    if path.is_dir():
        return submission_code(choose_module(path, module_file)[0], module_file)
    if path.suffix == ".zip":
        with tempfile.TemporaryDirectory(prefix="autograder-similarity-") as tmp:
            staged = Path(tmp) / "s"
            stage(path, module_file, staged)  # the same zip-bomb and path checks as grading
            return submission_code(choose_module(Path(tmp) / "s-unzipped", module_file)[0], module_file)
    from autograder.submission import MAX_NOTEBOOK_BYTES

    limit = MAX_NOTEBOOK_BYTES if path.suffix == ".ipynb" else MAX_SOURCE_BYTES
    if path.stat().st_size > limit:
        raise SubmissionError(f"{path.name} is over {limit >> 20} MiB")
    if path.suffix == ".ipynb":
        code = notebook_code(path.read_bytes())
        if len(code) > MAX_SOURCE_BYTES:
            raise SubmissionError(f"{path.name} has over {MAX_SOURCE_BYTES >> 20} MiB of code")
        return code
    if path.suffix == ".py":
        return path.read_text(errors="replace")
    raise SubmissionError(f"{path.name} is not a .py, .ipynb, .zip or folder")


def notebook_code(raw: bytes) -> str:
    from autograder.notebook_submission import strip_magics
    from autograder.submission import SubmissionError

    try:
        cells = json.loads(raw)["cells"]
    except (ValueError, KeyError, TypeError):
        raise SubmissionError("the notebook is not valid .ipynb JSON") from None
    code = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            code.append(strip_magics(source)[0])
    return "\n\n".join(code)


def _fingerprint(code: str, boilerplate: set[int]):  # -> copydetect.CodeFingerprint
    """copydetect's fingerprint of ``code``, every fingerprint of the stub removed.

    copydetect drops boilerplate with ``np.intersect1d(..., assume_unique=True)`` on hashes that
    can repeat, which leaves some repeats behind; removing them by key here is exact.
    """
    from copydetect import CodeFingerprint
    from copydetect.utils import get_token_coverage

    fp = CodeFingerprint("submission.py", NOISE_TOKENS, 1, None, fp=io.StringIO(code))
    if boilerplate:
        fp.hash_idx = {h: v for h, v in fp.hash_idx.items() if h not in boilerplate}
        fp.hashes = set(fp.hash_idx)
        fp.token_coverage = get_token_coverage(fp.hash_idx, NOISE_TOKENS, len(fp.filtered_code))
    return fp


def stub_source(assignment) -> str:  # assignment: Assignment
    """The stub students start from: its code is boilerplate that never counts as shared."""
    from autograder.stubgen import make_stub

    module = assignment.manifest.submission_file
    if assignment.template_dir is not None and (assignment.template_dir / module).is_file():
        return (assignment.template_dir / module).read_text()
    if assignment.reference_file is not None:
        return make_stub(assignment.reference_file.read_text())
    return ""


class _Prints:
    """A file's fingerprints as flat arrays, so a pair costs a few vectorized numpy calls.

    copydetect's ``compare_files`` builds one small array per shared fingerprint: fine for
    a few pairs, minutes for a class. The score here is the same quantity (copied tokens over
    the file's fingerprinted tokens, slices from copydetect's own ``get_copied_slices``);
    ``compare_files`` still draws the highlighted regions of the pairs that get a page.
    """

    def __init__(self, fp: Any) -> None:
        self.fp = fp
        self.unique = np.fromiter(fp.hash_idx.keys(), dtype=np.int64, count=len(fp.hash_idx))
        self.unique.sort()
        self.hashes = np.concatenate([np.full(len(v), h, dtype=np.int64) for h, v in fp.hash_idx.items()]) \
            if fp.hash_idx else np.array([], dtype=np.int64)
        self.idx = np.concatenate([np.asarray(v) for v in fp.hash_idx.values()]) if fp.hash_idx \
            else np.array([], dtype=np.int64)

    def share(self, common: np.ndarray) -> float:
        from copydetect.utils import get_copied_slices

        slices = get_copied_slices(self.idx[np.isin(self.hashes, common, assume_unique=False)], NOISE_TOKENS)
        return float(np.sum(slices[1] - slices[0]) / self.fp.token_coverage) if self.fp.token_coverage else 0.0


def compare_sources(sources: dict[str, str], boilerplate_code: str = "") -> SimilarityReport:
    """Every pair of ``sources`` (student -> code), most similar first."""
    import logging

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # copydetect warns per file
    started = time.monotonic()
    boilerplate = _fingerprint(boilerplate_code, set()).hashes if boilerplate_code else set()
    prints: dict[str, _Prints] = {}
    skipped: dict[str, str] = {}
    for student, code in sources.items():
        fp = _fingerprint(code, boilerplate)
        if fp.token_coverage < MIN_TOKENS:
            skipped[student] = "too little code beyond the stub to compare"
        else:
            prints[student] = _Prints(fp)
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        common = np.intersect1d(prints[a].unique, prints[b].unique, assume_unique=True)
        if len(common) == 0:
            continue
        share_a, share_b = prints[a].share(common), prints[b].share(common)
        if share_a or share_b:
            pairs.append(Pair(a, b, share_a, share_b, prints[a].fp, prints[b].fp))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return SimilarityReport(pairs, sources, skipped, time.monotonic() - started)


def regions(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Where the shared code is in each file's text (copydetect's slices, mapped back through its filter)."""
    from copydetect import compare_files

    _, _, (slices_a, slices_b) = compare_files(pair.fp_a, pair.fp_b)
    return slices_a, slices_b


def compare_class(assignment, folder: Path) -> SimilarityReport:
    """Read every submission in ``folder`` (as ``autograder batch`` finds them) and compare all pairs."""
    from autograder.submission import SubmissionError

    entries, _ = discover(folder)
    sources, unreadable = {}, {}
    for entry in entries:
        try:
            sources[entry.student] = submission_code(entry.path, assignment.manifest.submission_file)
        except (SubmissionError, OSError, UnicodeError) as exc:
            unreadable[entry.student] = f"not compared: {exc}"
    report = compare_sources(sources, stub_source(assignment))
    report.skipped.update(unreadable)
    return report


def write_similarity(report: SimilarityReport, out: Path, shown: int = SHOWN, linked: bool = False) -> None:
    """similarity.csv (every pair that shares code), similarity.html and a side-by-side page per shown pair."""
    from autograder.batch.pages import pair_file, pair_page, similarity_index

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "similarity.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rank", "student_a", "student_b", "score", "share_of_a", "share_of_b", "flagged"])
        for rank, p in enumerate(report.pairs, start=1):
            writer.writerow([rank, p.a, p.b, f"{p.score:.3f}", f"{p.share_a:.3f}", f"{p.share_b:.3f}",
                             "yes" if p.score >= report.flag_at else ""])
    pages = out / "similarity"
    pages.mkdir(exist_ok=True)
    for old in pages.glob("pair-*.html"):
        old.unlink()
    for rank, p in enumerate(report.pairs[:shown], start=1):
        (pages / pair_file(rank)).write_text(pair_page(rank, p, regions(p), report.sources[p.a],
                                                           report.sources[p.b], linked))
    (out / "similarity.html").write_text(similarity_index(report, shown, linked))
