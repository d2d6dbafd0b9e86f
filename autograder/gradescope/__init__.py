"""The Gradescope autograder bundle: ``build_bundle`` (staff side) and ``run`` (inside the container).

Kept import-light: ``run_autograder`` imports ``autograder.gradescope.run`` before it
has decided anything, and the CLI imports ``bundle`` only for the ``gradescope`` command.
"""
