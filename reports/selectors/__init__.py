"""Report reads, aggregated in PostgreSQL (never by looping over rows in Python), except where
one user's devices overlap: the apps report fetches the day's intervals in one statement and
counts each moment once in Python (``activity.timeline``), since no GROUP BY can pick one of
several overlapping rows per moment.

One module per kind of report: ``days`` (a local day's bounds, which every report clips to),
``tracked_time`` (one member's daily and weekly time), ``team`` (the team report's rows),
``approval`` (the timesheet weeks' statuses a report row carries), ``apps`` (time per app and
domain), ``coding`` (editor time), ``dashboard`` (the Now board and "My timesheet") and
``exports`` (the export jobs a caller may see)."""
