# Faktura API/worker image. docker-compose.yml runs it as `migrate`, `api` and `worker`
# against PostgreSQL and MinIO; without DATABASE_URL it would start its embedded PostgreSQL
# in /data instead. .dockerignore keeps the build context to what is copied below.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Shared libraries and a font for WeasyPrint (PDF rendering).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
# The PDF designs (HTML/CSS) live outside the package, at the top level of the repo.
COPY templates ./templates
RUN pip install -c requirements.lock .

RUN useradd --system --uid 10001 --create-home --home-dir /home/faktura faktura \
    && mkdir -p /data \
    && chown faktura /data
USER faktura
ENV FAKTURA_DATA_DIR=/data \
    FAKTURA_TEMPLATES_DIR=/app/templates

EXPOSE 8000
CMD ["faktura", "serve", "--host", "0.0.0.0"]
