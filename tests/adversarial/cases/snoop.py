"""Tries to read every other student's submission during the batch."""
import glob
import os

{HONEST}


def _snoop():
    found = []
    for pattern in ["/jobs/*/submission/*.py", "/jobs/*/*", "/tmp/*/*", "../../*/submission/*.py",
                    "/proc/*/cwd/*.py", "/proc/*/root/jobs/*/submission/*.py"]:
        for path in glob.glob(pattern):
            try:
                found.append(path + ":" + open(path).read())
            except OSError:
                pass
    try:
        found.append("LIST:" + ",".join(os.listdir("/jobs")))
    except OSError:
        pass
    return found


def expand_to(x, shape):
    raise RuntimeError("SNOOPED " + repr(_snoop())[:20000])
