"""``python -m experts.offline``: build every tiny model into the cache folder."""

from experts.offline import main

main()
