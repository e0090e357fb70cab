"""`python -m bot …`: the `benesapo` command (what `--processes` starts its children with)."""

from bot.cli import main

if __name__ == "__main__":
    main()
