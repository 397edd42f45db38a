"""What Stint tells the outside world and its admins about changes: the audit log's API and
admin (the log itself is the ``audit`` app's, below the domain apps), and later webhooks."""
