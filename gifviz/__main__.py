import sys

from gifviz.cli import main

sys.exit(main())
