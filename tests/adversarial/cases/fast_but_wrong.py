"""Fast pairwise_sq_dists that forgets the clamp: fails a correctness test, so no speed points."""
{REFERENCE}


def pairwise_sq_dists(x, y):  # noqa: F811 - overrides the correct one
    return (x * x).sum(1, keepdim=True) + (y * y).sum(1)[None, :] - 2 * x @ y.T
