"""``python -m autograder`` is the same as the ``autograder`` console script."""

from autograder.entry import main

if __name__ == "__main__":
    main()
