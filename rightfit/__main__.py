"""`python -m rightfit ...`: the same as the `rightfit` command (what `accelerate launch -m` and
`torchrun -m` start in every process)."""

from rightfit.cli import main

main()
