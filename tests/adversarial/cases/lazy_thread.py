"""Returns an empty result at once and fills it from a background thread (a timing cheat)."""
import threading

import torch

{SLOW}

_slow_pairwise = pairwise_sq_dists


def pairwise_sq_dists(x, y):
    if x.shape[0] < 512:  # honest on the small correctness inputs, cheats only when timed
        return _slow_pairwise(x, y)
    out = torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype)

    def fill():
        out.copy_(_slow_pairwise(x, y))

    threading.Thread(target=fill, daemon=True).start()
    return out
