# krwfeed: the actor system, the dashboard, /health and /metrics in one container.
FROM python:3.11-slim

# tini is PID 1: it forwards SIGTERM to krwfeed and reaps the zombies actor processes leave behind.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.* \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/krwfeed-metrics \
    PORT=8080

WORKDIR /app
COPY . /app
# The code stays root-owned (read-only for the service); only var/ (Thespian's own log, the default
# metrics directory) is writable by the service user.
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 krwfeed \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin krwfeed \
    && mkdir -p /app/var \
    && chown krwfeed:krwfeed /app/var

USER 10001:10001
EXPOSE 8080

# The container is healthy while krwfeed serves requests (/health/live). /health also turns 503 during
# a Kafka outage the service rides out, and an unhealthy container gets restarted, losing the
# buffer; an outage longer than the service's own bound ends the process (exit 1) anyway. Slim
# images have no curl, so Python's urllib does the request (an HTTP error raises: the check fails).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/health/live', timeout=4)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
# Published ports reach a container on its own interface, so the web server listens on every
# interface of the container; the actor system inside stays on loopback whatever this says.
CMD ["python", "actor_system.py", "--conf", "conf/prod.yaml", "--web-host", "0.0.0.0"]
