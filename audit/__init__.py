"""The append-only audit log (SPEC "Timesheets, locked periods and the audit log").

Below every domain app, like ``changelog``: it imports none of them (plain UUID columns, no
foreign keys: a row outlives the user, company or object it names, and a cascade would have to
change it). Services call ``audit.recording.record`` inside their own transaction; the database
refuses any UPDATE or DELETE of a row (migration 0001) but the retention purge's."""
