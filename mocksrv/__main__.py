"""``python -m mocksrv`` is the ``mocksrv`` command."""

from .cli import main

main()
