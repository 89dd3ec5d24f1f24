"""Checks: does an implementation compute what the numpy reference computes, and if not, where."""
