"""Requests as they come off the wire: media types (`media`), a Werkzeug request read into the
engine's `MockRequest` (`reading`), and the fast path for plain multipart bodies (`multipart`).
Used by the server and by the console's scratch tries alike."""
