"""Suite-wide settings: local time is UTC unless a test pins another zone."""

from __future__ import annotations

import os
import time

os.environ["TZ"] = "UTC"
time.tzset()
