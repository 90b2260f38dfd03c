import sys

from mes.cli.main import main

sys.exit(main())
