"""The whole simulator: both venues, their feeds and an optional separate control port.

In-process use::

    sim = Simulator(SimulatorOptions(upbit_port=0, bithumb_port=0))
    await sim.start()            # sim.ports -> {"upbit": ..., "bithumb": ...}
    sim.control("upbit", "drop", mode="abort")
    await sim.stop()

or, from synchronous code, ``SimulatorThread(options)`` runs the same in a background thread.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from simulator import control
from simulator.feed import load_replay, run_generator
from simulator.markets import Market, select_markets
from simulator.profiles import BITHUMB, UPBIT
from simulator.server import ExchangeServer, control_response, text_response
from simulator.tls import server_tls_context
from simulator.venue import Venue, VenueOptions


@dataclass
class SimulatorOptions:
    upbit_port: int = 0
    bithumb_port: int = 0
    control_port: int | None = None
    host: str = "127.0.0.1"
    markets: list[str] | None = None
    market_count: int | None = None
    rate: float = 200.0
    trade_ratio: float = 0.5
    idle_timeout: float = 60.0
    connect_limit: bool = True
    upbit_connect_limit: int = UPBIT.connect_limit_per_second
    bithumb_connect_limit: int = BITHUMB.connect_limit_per_second
    replay: list[str] = field(default_factory=list)
    seed: int = 1
    max_backlog: int = 50_000
    tls_cert: str | None = None  # PEM certificate (chain); with tls_key, serve wss:// and https://
    tls_key: str | None = None
    coalesce: int = 1
    load: bool = False  # frames rendered ahead, written in large chunks (simulator.load)
    load_pool: int = 32
    rest_history: int = 2_000  # trades each market keeps for REST (the REST horizon)
    rest_limit: bool = True  # the venues' REST request limits (Upbit 10/s, Bithumb 150/s per group)


class Simulator:
    def __init__(self, options: SimulatorOptions) -> None:
        self.options = options
        markets: tuple[Market, ...] = select_markets(options.markets, options.market_count)
        replay = load_replay(options.replay) if options.replay else []
        self.venues: dict[str, Venue] = {}
        for profile, limit in ((UPBIT, options.upbit_connect_limit), (BITHUMB, options.bithumb_connect_limit)):
            venue_options = VenueOptions(
                rate=options.rate, trade_ratio=options.trade_ratio, idle_timeout=options.idle_timeout,
                connect_limit=limit if options.connect_limit else 0, seed=options.seed,
                max_backlog=options.max_backlog, coalesce=options.coalesce,
                load=options.load, load_pool=options.load_pool,
                rest_history=options.rest_history, rest_limit=None if options.rest_limit else 0,
            )
            venue = Venue(profile, markets, venue_options)
            venue.replay_lines = replay
            venue.known_codes.update(code for _, _, code in replay if code)
            self.venues[profile.name] = venue
        tls = server_tls_context(options.tls_cert, options.tls_key)
        self.servers = {name: ExchangeServer(venue, options.host, tls) for name, venue in self.venues.items()}
        self.ports: dict[str, int | None] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._control_server: object | None = None

    async def start(self) -> dict[str, int | None]:
        self.ports["upbit"] = await self.servers["upbit"].start(self.options.upbit_port)
        self.ports["bithumb"] = await self.servers["bithumb"].start(self.options.bithumb_port)
        self.ports["control"] = None
        if self.options.control_port is not None:
            self.ports["control"] = await self._start_control(self.options.control_port)
        self._tasks = [asyncio.create_task(run_generator(venue)) for venue in self.venues.values()]
        return self.ports

    async def _start_control(self, port: int) -> int:
        from urllib.parse import parse_qsl, urlsplit

        from websockets.asyncio.server import serve

        def process_request(connection: object, request: object) -> object:
            url = urlsplit(request.path)  # type: ignore[attr-defined]
            query = dict(parse_qsl(url.query))
            if not url.path.startswith("/control/"):
                return text_response(404, "not found\n")
            wanted = query.pop("exchange", "all")
            venues = list(self.venues.values()) if wanted == "all" else [self.venues[wanted]] \
                if wanted in self.venues else []
            if not venues:
                return text_response(404, f"unknown exchange {wanted!r}\n")
            return control_response(venues, url.path.removeprefix("/control/"), query)

        async def refuse(ws: object) -> None:  # the control port never upgrades
            return None

        tls = server_tls_context(self.options.tls_cert, self.options.tls_key)
        server = await serve(refuse, self.options.host, port, process_request=process_request,  # type: ignore[arg-type]
                             ssl=tls)
        self._control_server = server
        return int(server.sockets[0].getsockname()[1])

    def control(self, exchange: str, action: str, **params: object) -> dict[str, object]:
        """Run a control action (see simulator.control) on the event loop's thread."""
        return control.apply(self.venues[exchange], action, {k: str(v) for k, v in params.items()})

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for server in self.servers.values():
            await server.stop()
        if self._control_server is not None:
            self._control_server.close()  # type: ignore[attr-defined]


class SimulatorThread:
    """Runs a Simulator on its own event loop in a daemon thread, for synchronous callers."""

    def __init__(self, options: SimulatorOptions) -> None:
        self.loop = asyncio.new_event_loop()
        self.simulator: Simulator | None = None
        self._options = options
        self._thread = threading.Thread(target=self.loop.run_forever, name="simulator", daemon=True)

    def start(self) -> dict[str, int | None]:
        self._thread.start()

        async def create() -> dict[str, int | None]:
            self.simulator = Simulator(self._options)
            return await self.simulator.start()

        return asyncio.run_coroutine_threadsafe(create(), self.loop).result(10)

    def url(self, exchange: str) -> str:
        assert self.simulator is not None
        scheme = "wss" if self._options.tls_cert else "ws"
        return f"{scheme}://{self._options.host}:{self.simulator.ports[exchange]}/websocket/v1"

    def control(self, exchange: str, action: str, **params: object) -> dict[str, object]:
        async def run() -> dict[str, object]:
            assert self.simulator is not None
            return self.simulator.control(exchange, action, **params)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        if self.simulator is not None:
            asyncio.run_coroutine_threadsafe(self.simulator.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
