"""Planning-quality evaluation, outside the runtime: the TaskBench conversion that builds the demo pool
and dev split (``taskbench``), the scores (``scores``) and the harness (``harness``; ``python -m
evaluation``). It imports ``controller``; nothing in ``controller`` imports it."""
