"""Loaded by the schemathesis run (SCHEMATHESIS_HOOKS): how to put X12 and HL7 v2 bodies on the wire."""

import schemathesis

# X12 files are plain text; the generated strings are sent as they are (and mostly refused 422).
schemathesis.serializer.alias("application/edi-x12", "text/plain")
# HL7 v2 (ER7) messages are text too.
schemathesis.serializer.alias("x-application/hl7-v2+er7", "text/plain")
