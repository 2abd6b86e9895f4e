"""One module per API for what it does beyond its spec (``maxcare``, ``maildiver`` …); each
defines a ``behaviour`` instance of `mocksrv.engine.behaviour.Behaviour`, found by API id.
See docs/behaviours.md."""
