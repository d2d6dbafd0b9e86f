"""Screenshot of the demo class's batch report for the docs (docs/report-demo.png).

    .venv/bin/python examples/report_screenshot.py [SLUG]

Grades the `make demo` class of one assignment (alice, bob, carol and, for broadcasting,
mallory) into demo-out/<slug>/ unless that report exists, then has headless Chromium
(Debian's `chromium`) load report.html from disk and save the screenshot.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo import OUT, ROOT, samples  # noqa: E402

from autograder.batch import run_batch  # noqa: E402
from autograder.course import resolve_assignment  # noqa: E402


def main() -> int:
    slug = sys.argv[1] if len(sys.argv) > 1 else "broadcasting"
    report = OUT / slug / "report.html"
    if not report.exists():
        folder = OUT / "submissions" / slug
        folder.mkdir(parents=True, exist_ok=True)
        for student, source in samples(slug).items():
            (folder / f"{student}.py").write_text(source)
        run_batch(resolve_assignment(slug), folder, OUT / slug, jobs=2)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (make system-deps installs it)", file=sys.stderr)
        return 1
    target = ROOT / "docs" / "report-demo.png"
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1100,1500", f"--screenshot={target}", report.as_uri()],
                   check=True, capture_output=True, timeout=120)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
