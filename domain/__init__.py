"""The domain: what the service knows about market data, independent of actors, sockets and Kafka.

Records and the ``MarketDataMessage`` they are published as (``records``, ``market_data``), the
validation rules, the configuration and settings values, the connection state machine, exchange
capabilities, trade dedupe, the UTC clock and the exception hierarchy. Nothing here imports
anything else of krwfeed, so every other package can build on it.
"""
