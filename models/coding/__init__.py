"""Coding: submissions and their rules, verified quotations, code suggestions, ICD-10-CM releases."""
