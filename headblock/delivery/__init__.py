"""Delivery: what leaves the station after a take. Access copies (``derive``) made from the
preservation master by profile; the master itself is only ever read."""
