"""The video take: a capture card, test signal or the demo deck to an FFV1/Matroska master.

``take`` (the take and its threads, the ``capture video`` verb), ``audio_feeds`` (a second
audio input placed on the video's time line), ``record`` (the take's settings, tags and
record), ``preview`` (the newest frame's planes for the window), ``finish`` (the essence
check and the end of the take).
"""
