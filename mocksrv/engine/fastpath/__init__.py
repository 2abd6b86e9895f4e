"""Checks that may only say "valid" quickly, or hand the input to openapi-core, which decides and
words the errors: per-operation parameter and body checks (`checks`) and the jsonschema-rs
pre-check of JSON bodies (`quickaccept`)."""
