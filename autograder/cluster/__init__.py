"""Batch grading on a Ray cluster: ``autograder batch ... --ray [ADDRESS]``.

The machine that runs the command (the *head*) finds the submissions, keeps the
SQLite store and writes every output, exactly as the local pool does. Ray only
moves work: the course (manifest, graders, reference) travels once as a packed
bundle through the object store, each submission travels as bytes, and each
result comes back as a JSON string that the head validates with the same
pydantic models as a local result. Ray is an optional extra (``[cluster]``);
nothing here is imported unless ``--ray`` is given.
"""
