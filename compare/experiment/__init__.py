"""`compare experiment`: the experiments of Nielsen's book, each one command, the book's figure beside ours.

book.py      the experiments as data: the book's settings as `compare run` options, its figures,
             how ours is read from each run's results.json
conduct.py   running one: its runs through compare.sweep.run_all (resumable, on all cores or a
             Dask cluster), then each row read
figures.py   its figure, ours beside the book's
document.py  docs/NIELSEN.md: the block each experiment writes (and only that)
"""
