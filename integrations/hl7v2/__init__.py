"""HL7 v2 intake: parsing with python-hl7 and mapping to the FHIR intake bundle."""
