"""HTTP in and out: the `cli`, granian's embedded server (`lifecycle`) calling the RSGI app
(`rsgi`), the WSGI layer that sends mocked-API requests to the engine and the rest to Flask
(`wsgi`), and plain multipart parsing."""
