# A small image that runs mocksrv on the bundled specs and fixtures (or your own, mounted).
# Not built in this project's CI: its machines have no Docker engine (see docs/ci.md).
FROM python:3.11-slim
WORKDIR /srv/mocksrv
COPY setup.cfg setup.py README.md ./
COPY mocksrv ./mocksrv
RUN pip install --no-cache-dir . && useradd --system mocksrv
COPY specs ./specs
COPY fixtures ./fixtures
USER mocksrv
EXPOSE 4010
# bind all interfaces inside the container; the admin API then needs a token for non-loopback clients
ENTRYPOINT ["mocksrv", "serve", "--host", "0.0.0.0", "--port", "4010"]
CMD ["--specs", "specs", "--fixtures", "fixtures"]
HEALTHCHECK --interval=5s --timeout=2s --retries=10 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4010/__mocksrv/health')"
