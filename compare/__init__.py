"""The compare harness: orchestrates the implementations and reports; holds no math."""
