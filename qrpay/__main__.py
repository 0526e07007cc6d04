import sys

from qrpay.cli import main

sys.exit(main())
