"""ActivityWatch's server API at ``/api/0/`` (SPEC: "Bring your own tracker"; docs/trackers-
activitywatch.md): buckets and events as aw-server 0.12 keeps them, heartbeats merged with its
rule, and what known bucket types say fed into Stint's own pipeline (app usage, away time).

``events`` parses and renders events and holds the merge rule; ``services`` writes;
``feed`` maps events into Stint's heartbeat intake; ``selectors`` reads; ``views`` and
``urls`` speak aw-server's protocol, errors included."""
