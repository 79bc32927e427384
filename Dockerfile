# syntax=docker/dockerfile:1
# One image for every ClearChart process; docker-compose.yml picks the command (api, worker, migrate).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app
RUN useradd --system --create-home --uid 10001 --user-group clearchart

# The constraints file pins every transitive dependency to the versions CI tested.
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c constraints.txt .

USER clearchart
ENV CLEARCHART_ENV=production \
    CLEARCHART_JSON_LOGS=true \
    CLEARCHART_API_HOST=0.0.0.0 \
    CLEARCHART_DATA_DIR=/home/clearchart/var
EXPOSE 8000
CMD ["clearchart", "api"]
