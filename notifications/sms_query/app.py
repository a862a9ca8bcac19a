"""The HTTP face of the SMS query service (FastAPI, run by uvicorn):

    uvicorn notifications.sms_query.app:create_app --factory --host 127.0.0.1 --port 8025

- `POST /sms/inbound/{gateway}`: a gateway's inbound SMS (`aliyun` JSON, `twilio` form), signed
  in `X-Gridledger-Signature`; 200 with each message's status (`answered`, `help`,
  `unknown_number`, `rate_limited`, `duplicate`), 401 bad signature, 400 unreadable, 404 gateway.
- `GET /health`: 200 when the service is up (and says whether the snapshot exists).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from notifications.sms_query.service import Settings, SmsQueryService
from notifications.sms_query.signature import SIGNATURE_HEADER


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app; settings from the environment by default."""
    service = SmsQueryService(settings or Settings.from_env())
    app = FastAPI(title="Gridledger SMS query service")

    @app.get("/health")
    def health() -> dict[str, object]:
        return {"ok": True, "snapshot": service.settings.snapshot.exists()}

    @app.post("/sms/inbound/{gateway}")
    async def inbound(gateway: str, request: Request) -> JSONResponse:
        body = await request.body()
        # off the event loop: DuckDB and the reply's HTTP post block
        handled = await run_in_threadpool(service.handle, gateway, body,
                                          request.headers.get(SIGNATURE_HEADER))
        return JSONResponse(handled.body, status_code=handled.status_code)

    return app

