"""Is an implementation right? The checks that answer it, each on its own.

gradients.py: the gradient agreement, every pair of implementations and each against central
finite differences of its own loss, from the same parameters on one batch (what `compare run`
checks before it trains, and `compare gradcheck` prints).

judge.py and the modules it uses (conformance, battery, equations, diagnosis, verdict): a
learner's implementation held to the numpy reference, equation by equation and layer by layer
(`compare check`); exercise.py writes the starting file a learner fills in (`compare exercise`).
"""
