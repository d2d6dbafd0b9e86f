#!/usr/bin/env bash
# Gradescope runs this as root for every submission: it grades what is in $ROOT/submission and
# writes $ROOT/results/results.json, whatever happens. ROOT is $AUTOGRADER_ROOT, default /autograder,
# so the unpacked bundle can be tried anywhere:
#     AUTOGRADER_ROOT=/tmp/gs /tmp/gs/source/run_autograder
# Student code never runs in this process: the Python grader starts it as `student` in a sandbox.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export AUTOGRADER_ROOT="$ROOT"
RESULTS="$ROOT/results/results.json"

PY="${AUTOGRADER_PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x "@VENV@/bin/python" ]; then PY="@VENV@/bin/python"; else PY="$(command -v python3 || echo python3)"; fi
fi

mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# cd / so that nothing in the submission folder (a `torch.py`, say) can shadow a module of the grader;
# the same reason drops '' from sys.path before anything is imported.
cd /
"$PY" -c 'import sys; sys.path[:] = [p for p in sys.path if p not in ("", ".")]
from autograder.gradescope.run import main
sys.exit(main())'
status=$?

if [ "$status" -ne 0 ] || [ ! -s "$RESULTS" ]; then
    # The Python grader could not even report its own failure: write a minimal valid results file.
    echo "run_autograder: the grader exited with status $status; writing an autograder-error result"
    tmp="$ROOT/results/.results-fallback.$$"
    py_shown="${PY//[^A-Za-z0-9._\/-]/_}"
    cat >"$tmp" <<EOF
{
  "score": 0,
  "execution_time": 0,
  "output": "The autograder failed on this submission; course staff have the details.",
  "output_format": "text",
  "test_output_format": "text",
  "visibility": "visible",
  "stdout_visibility": "hidden",
  "tests": [
    {
      "name": "Autograder error",
      "score": 0,
      "max_score": 0,
      "status": "failed",
      "visibility": "visible",
      "output": "The autograder failed on this submission; course staff have the details. This is not a problem with your code.",
      "output_format": "text",
      "tags": ["correctness"]
    }
  ],
  "extra_data": {"autograder_error": "the Python grader exited with status $status (interpreter: $py_shown); see the autograder output"}
}
EOF
    mv -f "$tmp" "$RESULTS"
fi
exit 0
