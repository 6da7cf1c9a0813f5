"""The ``headblock`` command line: one parser for the whole station's verbs, the exit status
they end with, and the terminal's view of long work. Each verb's work is done by the engine
(capture, qc, metadata) or the window (app); nothing here is needed to use them as a library."""
