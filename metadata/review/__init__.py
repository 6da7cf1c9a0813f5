"""The human side of a take after QC: reviewer marks, the supervisor's sign-off record, and
`headblock verify` (fixity of masters and of signed-off QC results)."""
