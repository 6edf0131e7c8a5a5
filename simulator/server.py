"""The WebSocket/HTTP front of one venue: `/websocket/v1`, REST under `/v1/`, control under `/control/`."""
from __future__ import annotations

import asyncio
import contextlib
import http
import json
import ssl
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from simulator import control, rest
from simulator.feed import play_replay
from simulator.jsontext import dumps
from simulator.session import Session, TrackedConnection
from simulator.subscription import RequestError, parse_request
from simulator.venue import Venue

WEBSOCKET_PATH = "/websocket/v1"
UP_FRAME = b'{"status":"UP"}'
ERROR_CLOSE_DELAY = 0.15  # the venues close ~150-180 ms after an error frame


# REST paths and the rate-limit group each counts against.
REST_GROUPS = {"/v1/trades/ticks": "trade", "/v1/market/all": "market"}
TOO_MANY_REQUESTS = {"error": {"name": "too_many_requests", "message": "Too many API requests."}}


def json_response(status: int, body: object, extra: list[tuple[str, str]] | None = None) -> Response:
    payload = dumps(body).encode()
    headers = Headers([("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(payload))),
                       ("Connection", "close"), *(extra or [])])
    return Response(status, http.HTTPStatus(status).phrase, headers, payload)


def text_response(status: int, text: str) -> Response:
    payload = text.encode()
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload))),
                       ("Connection", "close")])
    return Response(status, http.HTTPStatus(status).phrase, headers, payload)


def control_response(venues: list[Venue], action: str, query: dict[str, str]) -> Response:
    try:
        results = [control.apply(venue, action, query) for venue in venues]
    except control.ControlError as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(200, results[0] if len(results) == 1 else {v.profile.name: r for v, r in
                                                                       zip(venues, results, strict=True)})


class ExchangeServer:
    def __init__(self, venue: Venue, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.venue = venue
        self.host = host
        self.tls = tls  # set: the port speaks wss:// and https:// only
        self.server: Server | None = None
        self.port = 0

    async def start(self, port: int) -> int:
        self.server = await serve(
            self.handler, self.host, port,
            process_request=self.process_request,
            compression=None,  # the venues only deflate when asked; plain frames keep the fast path
            ping_interval=None,  # the venues send no pings of their own
            max_queue=64,
            write_limit=2**20,
            create_connection=TrackedConnection,
            ssl=self.tls,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            for session in list(self.venue.sessions):
                session.abort()
            self.server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    # ---- HTTP side -----------------------------------------------------------
    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query))
        venue = self.venue
        if url.path == WEBSOCKET_PATH:
            if venue.faults.refusing():
                return text_response(venue.faults.refuse_status, "connection refused (simulated)\n")
            address = connection.remote_address[0] if connection.remote_address else "?"
            if not venue.limiter.allow(address):
                return json_response(429, {"error": {"name": "too_many_requests", "message": "Too many requests"}})
            return None
        group = REST_GROUPS.get(url.path)
        if group is not None:
            return self._rest(connection, url.path, group, query)
        if url.path.startswith("/control/"):
            return control_response([venue], url.path.removeprefix("/control/"), query)
        return text_response(404, "not found\n")

    def _rest(self, connection: ServerConnection, path: str, group: str, query: dict[str, str]) -> Response:
        """One REST request: counted against its group's per-address limit (excess: 429, not
        counted), then failed on purpose while a REST failure is switched on, then answered."""
        venue = self.venue
        address = connection.remote_address[0] if connection.remote_address else "?"
        limiter = venue.rest_limiters[group]
        allowed = limiter.allow(address)
        extra = []
        if venue.profile.remaining_req_header:
            extra.append(("Remaining-Req", rest.remaining_req(group, limiter.remaining(address))))
        if not allowed:
            return json_response(429, TOO_MANY_REQUESTS, extra)
        if venue.faults.rest_failing():
            status = venue.faults.rest_fail_status
            return json_response(status, {"error": {"name": str(status), "message": "simulated REST failure"}},
                                 extra)
        if path == "/v1/market/all":
            return json_response(200, rest.market_all(venue, query), extra)
        status, body = rest.trades_ticks(venue, query)
        return json_response(status, body, extra)

    # ---- WebSocket side ------------------------------------------------------
    async def handler(self, ws: ServerConnection) -> None:
        venue = self.venue
        session = Session(ws, venue)
        venue.add(session)
        sender = asyncio.create_task(session.run_sender())
        watchdog = asyncio.create_task(self._idle_watchdog(session))
        try:
            async for message in ws:
                if message == "PING" or message == b"PING":
                    session.enqueue_raw(UP_FRAME)
                    continue
                try:
                    sub = parse_request(message, venue.profile, venue.known_codes)
                except RequestError as exc:
                    await ws.send(exc.frame())
                    await asyncio.sleep(ERROR_CLOSE_DELAY)
                    await ws.close(1000)
                    break
                if sub.list_subscriptions:
                    session.enqueue_raw(self._listing(session, sub.ticket))
                    continue
                venue.subscribe(session, sub)
                if venue.replay_lines:
                    if session.replay_task:
                        session.replay_task.cancel()
                    session.replay_task = asyncio.create_task(play_replay(venue, session))
        except ConnectionClosed:
            pass
        finally:
            for task in (sender, watchdog, session.replay_task):
                if task:
                    task.cancel()
            venue.remove(session)

    @staticmethod
    def _listing(session: Session, ticket: str) -> bytes:
        sub = session.subscription
        result = []
        if sub is not None:
            for data_type, codes in sub.raw_codes.items():
                entry: dict[str, object] = {"type": data_type, "codes": codes}
                if data_type == "orderbook":
                    entry["level"] = session.venue.profile.orderbook_level
                result.append(entry)
        return json.dumps({"method": "LIST_SUBSCRIPTIONS", "result": result, "ticket": ticket}).encode()

    async def _idle_watchdog(self, session: Session) -> None:
        """Cut a connection with no traffic either way for idle_timeout seconds, without a close frame."""
        timeout = self.venue.options.idle_timeout
        if timeout <= 0:
            return
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            if session.idle_for() >= timeout and not self.venue.faults.frozen:
                session.abort()
                return
