"""Headless quality control: measures, checks, runner, QC result, reports."""
