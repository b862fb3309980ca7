"""The page `python -m sandbox serve` sends (a package only so that the installed project ships it)."""
