"""The verbs of the command line: each turns parsed arguments into one call of the engine
and prints what a person at the terminal needs to see."""
