"""Timecode: SMPTE 12M arithmetic, the LTC decoder and where a take's timecode is written."""
