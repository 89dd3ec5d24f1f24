"""`compare bench`: the training throughput of every implementation and baseline, measured
fairly in one process, and the project's targets as ratios.

plan.py           what is measured: the configs, the runners (the registry and bench/'s baselines), how long
measure.py        how: runners fed as in real use, interleaved timed rounds, matmul peak, memory, --help time
graphs.py         the autograd engines' graphs: nodes and bytes per image (scalar), per step (tensor)
threads_study.py  1 thread against all cores, quiet and busy
targets.py        the targets, met or not, and whether the machine was quiet enough to say
markdown.py       bench.md
suite.py          the whole benchmark in order, into bench.json
"""
