# 星级党支部评定 — production image (slim, non-root, health-checked).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data HOST=0.0.0.0 PORT=8000

# WeasyPrint needs Pango; PDFs need a CJK font.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 xingji && mkdir -p /data && chown xingji /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install .
COPY alembic.ini ./
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static

USER xingji
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
CMD ["sh", "-c", "python -m app db upgrade && python -m app serve"]
