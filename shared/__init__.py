"""What every implementation shares: data, config, parameters, the interface, the training loop.

Imports nothing from `impls` or `compare`: the dependencies flow compare -> impls -> shared.
"""
