"""`python -m scanner.cli`."""

from scanner.cli import main

main()
