"""``python -m evaluation``: the planning evaluation harness (see ``evaluation.harness``)."""

from evaluation.harness import main

if __name__ == "__main__":
    main()
