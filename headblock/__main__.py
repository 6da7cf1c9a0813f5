import sys

from headblock.cli import main

if __name__ == "__main__":  # not when a spawned process (derive) imports it as __mp_main__
    sys.exit(main())
