"""AWS Lambda entry point (`handler.handler`): the same app as the sidecar, behind Mangum.

Everything is built at import, which Lambda runs once per container in its init phase, so
engine warm-up is paid there and not by the first request. Mangum's lifespan is off: Mangum
runs a lifespan cycle around every invocation, and the app's shutdown closes its services.
"""

from __future__ import annotations

import os
from pathlib import Path

from mangum import Mangum

from adapters.bootstrap import bootstrap
from adapters.http.app import create_app
from adapters.settings import Settings

_task_root = Path(__file__).resolve().parent  # what build_zip.py ships beside the handler
if (_task_root / "tiktoken_cache").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_task_root / "tiktoken_cache"))
_price_map = _task_root / "price_map" / "model_prices_and_context_window_backup.json"
if _price_map.is_file():  # litellm, whose map it is, stays out of the zip
    os.environ.setdefault("HEADROOM_PRICE_MAP_FILE", str(_price_map))
os.environ.setdefault("HEADROOM_PROFILE", "lambda")
os.environ.setdefault("HEADROOM_WORKSPACE_DIR", "/tmp/headroom")  # only /tmp is writable

services = bootstrap(Settings())  # applies the offline environment first
services.warm()
app = create_app(services)
handler = Mangum(app, lifespan="off")
