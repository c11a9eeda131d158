import sys

from hiaudio.cli import main

sys.exit(main())
