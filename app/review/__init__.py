"""The Review tab: a take's timeline, its QC events, playback, frame stepping and marks."""
