# The crm-masker processor image: small, pinned base, non-root.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY processor ./processor
RUN pip install --no-compile . && useradd --system --uid 10001 --no-create-home masker
COPY rules ./rules
USER 10001
EXPOSE 9108
ENTRYPOINT ["crm-masker"]
CMD ["run", "--rules", "/app/rules"]
