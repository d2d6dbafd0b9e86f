"""The Gradescope bundle: its zip layout, setup.sh, and run_autograder simulated in a temporary root.

The bundle is built once with the CLI; each simulated run unpacks it as Gradescope
would (``$ROOT/source``), installs its wheel offline into a folder on PYTHONPATH (so the
framework that grades is the one in the zip), and runs ``run_autograder`` with
``AUTOGRADER_ROOT`` pointing at the temporary root. setup.sh is never run for real here
(it would apt-get and useradd); it is checked with ``bash -n`` and its dry-run mode.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.results import Results
from autograder.sandbox.uids import installation

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "corpus"
SLUG = "broadcasting"
# Stands in for the `student` user: this installation's spare uid, which its pool never leases.
PINNED_UID = installation().spare_uid
GRADESCOPE_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                   "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
METADATA = {"id": 123456, "created_at": "2026-11-24T10:00:00.000000-08:00", "submission_method": "upload",
            "assignment": {"id": 42, "title": "Broadcasting", "due_date": "2026-12-01T23:59:00.000000-08:00",
                           "group_size": None, "group_submission": False, "course_id": 7, "total_points": "23.0"},
            "users": [{"email": "student@example.edu", "id": 1, "name": "A Student"}],
            "previous_submissions": [{"submission_time": "2026-11-23T10:00:00", "score": 11.0,
                                      "autograder_error": False, "results": {}},
                                     {"submission_time": "2026-11-23T11:00:00", "score": "17.5",
                                      "autograder_error": False}]}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / f"{SLUG}-autograder.zip"
    proc = subprocess.run([sys.executable, "-m", "autograder", "gradescope", SLUG, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    return out


@pytest.fixture(scope="module")
def site(bundle, tmp_path_factory) -> Path:
    """The bundle's wheel installed (offline, no dependencies) into a folder for PYTHONPATH."""
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(bundle) as zf:
        name = next(n for n in zf.namelist() if n.startswith("wheels/"))
        wheel = target.parent / Path(name).name
        wheel.write_bytes(zf.read(name))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    return target


def unpack(bundle: Path, root: Path) -> Path:
    """Gradescope's layout: the zip's contents in $ROOT/source, run_autograder as it sits in the zip."""
    source = root / "source"
    source.mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            zf.extract(info, source)
            (source / info.filename).chmod((info.external_attr >> 16) & 0o777)
    (root / "submission").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps(METADATA))
    return root


def run_autograder(root: Path, site: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env.update(AUTOGRADER_ROOT=str(root), PYTHONPATH=str(site),
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}", **env_extra)
    return subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600, cwd=root)


def check_spec(path: Path) -> Results:
    """The results file is Gradescope's format to the letter (and nothing else)."""
    raw = json.loads(path.read_text())
    assert set(raw) <= GRADESCOPE_KEYS
    results = Results.model_validate(raw)
    assert raw["visibility"] in VISIBILITIES and raw["stdout_visibility"] == "hidden"
    assert raw["output_format"] in FORMATS and raw["test_output_format"] in FORMATS
    assert isinstance(raw["execution_time"], (int, float)) and raw["execution_time"] >= 0
    for test in raw["tests"]:
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
        assert test["output_format"] in FORMATS
        assert test["tags"][0] in ("correctness", "performance")
        assert 0 <= test["score"] <= test["max_score"] or test["max_score"] == 0
    for entry in raw.get("leaderboard") or []:
        assert set(entry) == {"name", "value", "order"} and entry["order"] in ("asc", "desc")
    assert "\r" not in path.read_text()
    return results


def submit(root: Path, text: str, name: str = f"{SLUG}.py") -> None:
    (root / "submission" / name).write_text(text)


def expected_tests() -> list[tuple[str, bool, str]]:
    from autograder.course import resolve_assignment

    m = resolve_assignment(SLUG, root=ROOT).manifest
    return [(g.title, g.hidden, g.kind) for g in m.groups]


# ------------------------------------------------------------------ the zip


def test_zip_layout(bundle):
    with zipfile.ZipFile(bundle) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        names = set(infos)
        for top in ("setup.sh", "run_autograder", "requirements.txt", "bundle.json"):
            assert top in names, top
        for script in ("setup.sh", "run_autograder"):
            mode = infos[script].external_attr >> 16
            assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, script
        assert zf.read("run_autograder").startswith(b"#!") and zf.read("setup.sh").startswith(b"#!")
        wheels = [n for n in names if n.startswith("wheels/")]
        assert len(wheels) == 1 and re.fullmatch(r"wheels/torch_autograder-[\w.]+-py3-none-any\.whl", wheels[0])
        # the course holds this assignment only, and solutions nowhere else
        course = {n for n in names if n.startswith("course/")} - {"course/solutions/course_secret"}
        assert {n.split("/")[2] for n in course} == {SLUG}
        secret = infos["course/solutions/course_secret"]  # hidden inputs are seeded as on staff machines
        assert stat.S_IMODE(secret.external_attr >> 16) == 0o600 and zf.read(secret).strip()
        assert f"course/solutions/{SLUG}/{SLUG}.py" in names
        assert f"course/assignments/{SLUG}/assignment.toml" in names
        assert any(n.startswith(f"course/solutions/{SLUG}/tests/") for n in names)
        assert not any(n.startswith("course/") and "solutions" in n and not n.startswith("course/solutions/")
                       for n in names)
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
        meta = json.loads(zf.read("bundle.json"))
        with zipfile.ZipFile(__import__("io").BytesIO(zf.read(wheels[0]))) as wheel:
            inside = wheel.namelist()
    assert meta["slug"] == SLUG and meta["torch_index"] == "https://download.pytorch.org/whl/cpu"
    assert any(n.startswith("autograder/gradescope/run.py") for n in inside)
    assert not any("solutions" in n or n.endswith(f"/{SLUG}.py") for n in inside), "the wheel must hold no reference"
    assert bundle.stat().st_size < 1 << 20, "the bundle should stay small (no torch, no data)"


def test_requirements_are_exact_pins_without_torch_or_notebook_extras(bundle):
    import importlib.metadata as md

    with zipfile.ZipFile(bundle) as zf:
        lines = [ln for ln in zf.read("requirements.txt").decode().splitlines() if ln and not ln.startswith("#")]
        setup = zf.read("setup.sh").decode()
    pins = dict(ln.split("==") for ln in lines)
    assert all(re.fullmatch(r"[a-z0-9-]+==[\w.]+", ln) for ln in lines), lines
    assert "torch" not in pins and not {"otter-grader", "nbgrader", "nbformat"} & set(pins)
    for name in ("numpy", "pydantic", "pytest", "hypothesis", "typer"):
        assert pins[name] == md.version(name)
    torch_public = md.version("torch").split("+")[0]
    assert f'TORCH_VERSION="{torch_public}"' in setup
    assert '--index-url "$TORCH_INDEX"' in setup and "conda" not in setup.replace("no conda", "")


def test_setup_sh_parses_and_its_dry_run_does_what_gradescope_needs(bundle, tmp_path):
    source = unpack(bundle, tmp_path / "gs") / "source"
    assert subprocess.run(["bash", "-n", str(source / "setup.sh")], capture_output=True).returncode == 0
    assert subprocess.run(["bash", "-n", str(source / "run_autograder")], capture_output=True).returncode == 0
    venv_existed = Path("/opt/torch-autograder").exists()
    proc = subprocess.run(["bash", str(source / "setup.sh")], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, AUTOGRADER_SETUP_DRY_RUN="1",
                                   AUTOGRADER_STUDENT_USER="ag-test-no-such-user"))
    assert proc.returncode == 0, proc.stderr
    plan = proc.stdout
    assert re.search(r"^\+ apt-get install .*\bbubblewrap\b", plan, re.M)
    assert re.search(r"pip install .*--no-deps --index-url https://download\.pytorch\.org/whl/cpu torch==\d", plan)
    assert re.search(r"pip install -q -r \S+/requirements\.txt", plan)
    assert re.search(r"pip install -q --no-deps \S+/wheels/torch_autograder-\S+\.whl", plan)
    assert re.search(r"^\+ useradd .*ag-test-no-such-user$", plan, re.M)
    assert re.search(rf"^\+ chmod -R go= {re.escape(str(source))}$", plan, re.M)
    assert plan.index("requirements.txt") < plan.index("useradd") < plan.index("chmod -R go=")
    assert Path("/opt/torch-autograder").exists() == venv_existed, "a dry run must change nothing"
    reference = source / "course" / "solutions" / SLUG / f"{SLUG}.py"
    assert stat.S_IMODE(reference.stat().st_mode) == 0o644, "nor the bundle's permissions"


def test_setup_sh_takes_torch_and_pip_from_a_mirror_when_told(bundle, tmp_path):
    """AUTOGRADER_TORCH_INDEX_URL / AUTOGRADER_PIP_INDEX_URL point the installs at a mirror or proxy."""
    source = unpack(bundle, tmp_path / "gs") / "source"
    torch_mirror, pip_mirror = "https://mirror.example.edu/pytorch/cpu", "https://mirror.example.edu/pypi/simple"
    env = dict(os.environ, AUTOGRADER_SETUP_DRY_RUN="1", AUTOGRADER_STUDENT_USER="ag-test-no-such-user",
               AUTOGRADER_TORCH_INDEX_URL=torch_mirror, AUTOGRADER_PIP_INDEX_URL=pip_mirror)
    plan = subprocess.run(["bash", str(source / "setup.sh")], capture_output=True, text=True, timeout=60,
                          env=env).stdout
    assert re.search(rf"pip install .*--no-deps --index-url {re.escape(torch_mirror)} torch==\d", plan)
    assert re.search(rf"pip install -q --index-url {re.escape(pip_mirror)} pip==\S+$", plan, re.M)
    assert re.search(rf"pip install -q --index-url {re.escape(pip_mirror)} -r \S+/requirements\.txt", plan)
    assert "download.pytorch.org" not in plan
    del env["AUTOGRADER_PIP_INDEX_URL"]  # torch mirrored only: pip keeps its own index
    plan = subprocess.run(["bash", str(source / "setup.sh")], capture_output=True, text=True, timeout=60,
                          env=env).stdout
    assert re.search(r"pip install -q -r \S+/requirements\.txt", plan) and pip_mirror not in plan


# ------------------------------------------------------------------ simulated runs


def test_reference_gets_full_marks_with_leaderboard_and_metadata(bundle, site, tmp_path):
    root = unpack(bundle, tmp_path / "gs")
    submit(root, (ROOT / "solutions" / SLUG / f"{SLUG}.py").read_text())
    proc = run_autograder(root, site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = check_spec(root / "results" / "results.json")
    assert results.score == results.max_score == 23
    assert [(t.name.removesuffix(" (hidden)"), t.visibility == "after_published", t.tags[0])
            for t in results.tests] == expected_tests()
    assert all(t.status == "passed" for t in results.tests)
    assert results.leaderboard and results.leaderboard[0].name == "pairwise_sq_dists: time / reference"
    assert results.leaderboard[0].order == "asc" and results.leaderboard[0].value > 0
    meta = results.extra_data["submission"]
    assert meta["attempt"] == 3 and meta["submission_id"] == 123456 and meta["previous_best_score"] == 17.5
    assert "student@example.edu" not in json.dumps(results.extra_data)
    assert results.output.startswith("Attempt 3.")
    assert results.extra_data["framework"]["location"].startswith(str(site)), "graded by the bundle's wheel"
    assert "sandbox protections in force" in proc.stdout


def test_buggy_submission_scores_partially_and_runs_as_the_student_uid(bundle, site, tmp_path):
    root = unpack(bundle, tmp_path / "gs")
    source = (CORPUS / SLUG / "bug_unbiased_std.py").read_text()
    pinned = os.geteuid() == 0
    if pinned:  # the import fails (score 0) unless the worker runs as the pinned `student` uid
        source = f"import os\nassert os.getuid() == {PINNED_UID}, os.getuid()\n" + source
    submit(root, source)
    proc = run_autograder(root, site, **({"AUTOGRADER_STUDENT_USER": str(PINNED_UID)} if pinned else {}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = check_spec(root / "results" / "results.json")
    by_name = {t.name: t for t in results.tests}
    assert 0 < results.score < results.max_score
    assert by_name["standardize: values"].score == 0
    assert by_name["broadcast_shape: worked examples and errors"].status == "passed"
    if pinned:
        assert f"uid {PINNED_UID}" in proc.stdout


def test_forging_the_results_file_scores_zero(bundle, site, tmp_path):
    root = unpack(bundle, tmp_path / "gs")
    results_file = root / "results" / "results.json"
    fake = {"score": 100, "tests": [{"name": "all", "score": 100, "max_score": 100, "status": "passed"}]}
    results_file.parent.mkdir()
    results_file.write_text(json.dumps(fake))  # a forged file from before grading must not survive
    targets = [str(results_file), "/autograder/results/results.json", "results/results.json", "/tmp/results.json"]
    submit(root, f'''
import atexit, json, os
FAKE = {json.dumps(fake)!r}
def _forge():
    print(FAKE)
    for path in {targets!r}:
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w") as fh:
                fh.write(FAKE)
        except OSError:
            pass
atexit.register(_forge)
_forge()
def _bail(*args, **kwargs):
    _forge()
    os._exit(0)
broadcast_shape = expand_to = pairwise_sq_dists = standardize = _bail
''')
    autograder_existed = Path("/autograder").exists()
    proc = run_autograder(root, site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = check_spec(results_file)
    assert results.score == 0
    assert [t.name.removesuffix(" (hidden)") for t in results.tests] == [t[0] for t in expected_tests()]
    assert "all" not in {t.name for t in results.tests} and "autograder_error" not in results.extra_data
    assert sorted(p.name for p in results_file.parent.iterdir()) == ["results.json"]
    if not autograder_existed:
        assert not Path("/autograder").exists()


def test_a_framework_failure_still_writes_a_valid_results_file(bundle, site, tmp_path):
    root = unpack(bundle, tmp_path / "gs")
    manifest = root / "source" / "course" / "assignments" / SLUG / "assignment.toml"
    manifest.write_text(manifest.read_text() + "\n[[groups]]\nnot valid = \n")
    submit(root, (ROOT / "solutions" / SLUG / f"{SLUG}.py").read_text())
    proc = run_autograder(root, site)
    assert proc.returncode == 0
    results = check_spec(root / "results" / "results.json")
    assert results.score == 0 and [t.name for t in results.tests] == ["Autograder error"]
    error = results.tests[0]
    assert error.visibility == "visible" and error.status == "failed"
    assert "Traceback" not in error.output and "Traceback" not in results.output
    assert "Traceback" in results.extra_data["autograder_error"] and "AUTOGRADER ERROR" in proc.stdout
    assert results.extra_data["submission"]["attempt"] == 3


def test_an_interpreter_that_cannot_start_still_gets_a_results_file(bundle, tmp_path):
    root = unpack(bundle, tmp_path / "gs")
    started = time.monotonic()
    proc = run_autograder(root, tmp_path, AUTOGRADER_PYTHON="/bin/false")
    assert proc.returncode == 0 and time.monotonic() - started < 30
    results = check_spec(root / "results" / "results.json")
    assert results.score == 0 and results.tests[0].name == "Autograder error"
    assert "status 1" in results.extra_data["autograder_error"]


# ------------------------------------------------------------------ pieces


def test_pinned_uid_is_leased_first_then_the_pool(monkeypatch):
    from autograder.sandbox.uids import UidLease

    monkeypatch.setenv("AUTOGRADER_SANDBOX_UID", str(PINNED_UID))
    first = UidLease.acquire()
    second = UidLease.acquire()
    try:
        assert first.uid == PINNED_UID
        assert second.uid in installation().pool
    finally:
        second.release()
        first.release()
    again = UidLease.acquire()
    again.release()
    assert again.uid == PINNED_UID


def test_submission_is_found_in_a_folder_or_a_lone_zip(tmp_path):
    from autograder.gradescope.run import find_submission

    folder = tmp_path / "a"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / f"{SLUG}.ipynb").write_text("{}")
    assert find_submission(folder, f"{SLUG}.py") == folder
    other = tmp_path / "b"
    other.mkdir()
    with zipfile.ZipFile(other / "hw.zip", "w") as zf:
        zf.writestr(f"{SLUG}.py", "")
    assert find_submission(other, f"{SLUG}.py") == other / "hw.zip"
    (other / "second.zip").write_bytes((other / "hw.zip").read_bytes())
    assert find_submission(other, f"{SLUG}.py") == other  # ambiguous: staging explains what is missing


def test_metadata_keeps_what_is_useful_and_no_personal_data(tmp_path):
    from autograder.gradescope.run import read_metadata

    path = tmp_path / "m.json"
    path.write_text(json.dumps(METADATA))
    meta = read_metadata(path)
    assert meta["attempt"] == 3 and meta["assignment_title"] == "Broadcasting" and meta["group_size"] == 1
    assert "student@example.edu" not in json.dumps(meta) and "A Student" not in json.dumps(meta)
    path.write_text("not json")
    assert read_metadata(path) == {}


def test_workers_not_the_grader_are_the_oom_victims():
    from autograder.gradescope.oom import mark_victims

    child = subprocess.Popen(["sleep", "30"])
    try:
        assert mark_victims(os.getpid()) >= 1
        assert Path(f"/proc/{child.pid}/oom_score_adj").read_text().strip() == "1000"
        assert Path("/proc/self/oom_score_adj").read_text().strip() != "1000"
    finally:
        child.kill()
        child.wait()
