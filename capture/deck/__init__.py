"""Deck control: the Sony 9-pin (RS-422) protocol and transfers driven by the deck's timecode."""
