"""The contract tests import each service's class (nameko's entrypoints say which methods are
RPC methods); no server is needed."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
