# The crm-masker processor image: small, pinned base, non-root.

# The native core (Rust): built into an abi3 wheel here, installed below; the runtime image
# carries no compiler.
FROM rust:1.90.0-slim-bookworm AS native
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pip \
    && rm -rf /var/lib/apt/lists/* \
    && pip3 install --break-system-packages --no-cache-dir "maturin>=1.7,<2"
WORKDIR /src
COPY native ./
RUN maturin build --release --locked --out /wheels

FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY processor ./processor
COPY --from=native /wheels /wheels
RUN pip install --no-compile . /wheels/*.whl && rm -rf /wheels && useradd --system --uid 10001 --no-create-home masker
COPY rules ./rules
USER 10001
EXPOSE 9108
ENTRYPOINT ["crm-masker"]
CMD ["run", "--rules", "/app/rules"]
