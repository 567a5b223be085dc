#!/usr/bin/env python3
"""Kept under its old name for scripts/check_oracle.py: the same as scripts/torch_export.py.

    /tmp/tv/bin/python scripts/torch_reference.py IN.npz OUT.npz [--eval] [--layout nchw|nhwc]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_export import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
