"""Run the gateway under uvicorn: ``python -m gateway``."""

from __future__ import annotations

import os

import uvicorn

from parentnet_kit.logging_setup import configure


def main() -> None:
    configure("gateway")
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
        port=int(os.environ.get("GATEWAY_PORT", "8000")),
        log_config=None,
        access_log=False,
        # A websocket message may be as large as an HTTP body (the app checks it too); uvicorn's
        # default of 16 MB let a 10 MB document through to be parsed.
        ws_max_size=int(os.environ.get("GATEWAY_MAX_BODY_BYTES") or 64 * 1024) + 1024,
    )


if __name__ == "__main__":
    main()
