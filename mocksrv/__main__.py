"""``python -m mocksrv`` is the ``mocksrv`` command."""

from mocksrv.serving.cli import main

main()
