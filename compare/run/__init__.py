"""The comparison: train each implementation through shared.training from the same
parameters, check and compare them, and say so as it goes.

comparison.py  run_comparison: the gradient check, each implementation's training, the summary
outcome.py     Outcome: what a run did, saved, warned, and where it was interrupted
console.py     what it prints: the setup, epoch lines, the summary, progress, long-run estimates
machine.py     the machine's facts: threads to use, load, the environment a result records
outputs.py     output places, checked and claimed before any work starts; nothing overwritten
"""
