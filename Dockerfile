# The one image for web, worker, beat, migrate and the simulator (docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dashboard dashboard
COPY campaigns campaigns
COPY simulator simulator
COPY templates templates
COPY static static
COPY manage.py ./
RUN pip install --no-cache-dir . && useradd --system --no-create-home dashboard
USER dashboard
