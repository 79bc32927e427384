"""Loaded by the schemathesis run (SCHEMATHESIS_HOOKS): how to put an X12 body on the wire."""

import schemathesis

# X12 files are plain text; the generated strings are sent as they are (and mostly refused 422).
schemathesis.serializer.alias("application/edi-x12", "text/plain")
