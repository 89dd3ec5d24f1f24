"""`python -m compare`: the same as the `compare` command, for when another program
named compare (ImageMagick has one) comes first on the PATH."""

from compare.cli import main

main(prog_name="compare")
