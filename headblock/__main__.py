import sys

from headblock.cli import main

sys.exit(main())
