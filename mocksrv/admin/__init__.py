"""The admin API at ``/__mocksrv/`` (`api`, described by ``openapi.yaml``): inspect and drive
the mock's state from tests and tools."""
