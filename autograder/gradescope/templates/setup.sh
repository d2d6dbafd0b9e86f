#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image for "@SLUG@"
# (Ubuntu 22.04 by default). It installs:
#   - Python @PYTHON_VERSION@ (the version the pins were resolved with) and a virtual environment in @VENV@,
#   - torch==@TORCH_VERSION@ from the CPU-only index (Gradescope has no GPU; the default build is
#     several GB larger), then the exact pins of requirements.txt, then the framework wheel (pip, no conda),
#   - bubblewrap (the sandbox's outer layer, used when the container allows namespaces),
#   - an unprivileged `student` user that student code runs as,
# and makes the bundle (hidden graders, reference) unreadable to anyone but root.
#
# AUTOGRADER_SETUP_DRY_RUN=1 prints the commands instead of running them.
# Mirrored installs (a university mirror or a proxy; see docs/gradescope.md):
#   AUTOGRADER_TORCH_INDEX_URL  index torch is installed from (default: PyTorch's CPU index below),
#   AUTOGRADER_PIP_INDEX_URL    index for pip itself and the pinned requirements (default: pip's own, PyPI).
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY_VERSION="@PYTHON_VERSION@"
TORCH_VERSION="@TORCH_VERSION@"
TORCH_INDEX="${AUTOGRADER_TORCH_INDEX_URL:-@TORCH_INDEX@}"
PIP_INDEX=()
if [ -n "${AUTOGRADER_PIP_INDEX_URL:-}" ]; then
    PIP_INDEX=(--index-url "$AUTOGRADER_PIP_INDEX_URL")
fi
VENV="${AUTOGRADER_VENV:-@VENV@}"
STUDENT_USER="${AUTOGRADER_STUDENT_USER:-student}"
DRY_RUN="${AUTOGRADER_SETUP_DRY_RUN:-}"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

run() {
    if [ -n "$DRY_RUN" ]; then
        printf '+ %s\n' "$*"
    else
        "$@"
    fi
}

apt_install() {
    run apt-get install -y -q --no-install-recommends "$@"
}

# --- system packages ---------------------------------------------------------------------------
run apt-get update -q
apt_install ca-certificates bubblewrap procps

# --- Python ------------------------------------------------------------------------------------
PY=""
for candidate in "python${PY_VERSION}" python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '${PY_VERSION}')" 2>/dev/null; then
        PY="$(command -v "$candidate")"
        break
    fi
done
if [ -z "$PY" ]; then
    # Ubuntu 22.04 ships 3.10; python3.11 is in its universe component, deadsnakes has the rest.
    if ! apt_install "python${PY_VERSION}" "python${PY_VERSION}-venv"; then
        apt_install software-properties-common
        run add-apt-repository -y ppa:deadsnakes/ppa
        run apt-get update -q
        apt_install "python${PY_VERSION}" "python${PY_VERSION}-venv"
    fi
    PY="/usr/bin/python${PY_VERSION}"
else
    # the venv module is a separate Debian package
    "$PY" -c "import ensurepip, venv" 2>/dev/null || apt_install "python${PY_VERSION}-venv" || apt_install python3-venv
fi

# --- virtual environment with exact pins --------------------------------------------------------
echo "torch-autograder: torch from $TORCH_INDEX, other packages from ${AUTOGRADER_PIP_INDEX_URL:-the default index}"
run "$PY" -m venv "$VENV"
run "$VENV/bin/python" -m pip install -q ${PIP_INDEX[@]+"${PIP_INDEX[@]}"} "pip==@PIP_VERSION@"
run "$VENV/bin/python" -m pip install -q --no-deps --index-url "$TORCH_INDEX" "torch==${TORCH_VERSION}"
run "$VENV/bin/python" -m pip install -q ${PIP_INDEX[@]+"${PIP_INDEX[@]}"} -r "$SRC/requirements.txt"
run "$VENV/bin/python" -m pip install -q --no-deps "$SRC"/wheels/*.whl
run "$VENV/bin/python" -m pip check
run "$VENV/bin/python" -c "import torch, autograder.gradescope.run; assert not torch.cuda.is_available(); print('torch', torch.__version__)"
# The venv must stay readable by `student` (its worker runs this interpreter when bubblewrap is unavailable).
run chmod -R a+rX "$(dirname "$VENV")"

# --- the unprivileged user student code runs as --------------------------------------------------
if ! id -u "$STUDENT_USER" >/dev/null 2>&1; then
    run useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$STUDENT_USER"
fi

# --- nothing in the bundle is readable by `student` (Gradescope's best-practice advice) ------------
run chown -R root:root "$SRC"
run chmod -R go= "$SRC"
echo "torch-autograder: setup complete for @SLUG@"
