import sys

from node.interfaces.cli.main import main

sys.exit(main())
