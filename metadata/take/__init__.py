"""A take's own records: its folder and file names, the facts it was made from (take record,
item and carrier description), and its capture log."""
