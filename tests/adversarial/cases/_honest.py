# Shared honest broadcast_shape (6 points) that hostile submissions include verbatim.
def broadcast_shape(*shapes):
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, size in enumerate(s):
            j = n - len(s) + i
            if size != out[j] and size != 1:
                if out[j] != 1:
                    raise ValueError("incompatible")
                out[j] = size
    return tuple(out)
