# mocksrv in a container: serves the specs in /specs with the scenarios in /fixtures (the
# bundled ones unless you mount your own over them). Checked by hadolint in `make check`; its
# command is run outside Docker by tests/test_docker.py, since this project's machines have no
# Docker engine (docs/ci.md).
FROM python:3.11-slim
WORKDIR /srv/mocksrv
COPY setup.cfg setup.py README.md constraints.txt ./
COPY mocksrv ./mocksrv
# the same pinned versions the test suite passed with
RUN pip install --no-cache-dir -c constraints.txt . && useradd --system --uid 10001 --no-create-home mocksrv
COPY specs /specs
COPY fixtures /fixtures
USER 10001
EXPOSE 4010
# Every interface, so the host and other containers reach it. Mocked APIs answer anyone; the
# admin API and console answer non-loopback clients only with a token: set MOCKSRV_ADMIN_TOKEN
# (without it, reset the state or read the journal from inside the container only).
ENTRYPOINT ["mocksrv", "serve", "--host", "0.0.0.0", "--port", "4010"]
CMD ["--specs", "/specs", "--fixtures", "/fixtures"]
HEALTHCHECK --interval=5s --timeout=2s --retries=10 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4010/__mocksrv/health')"]
