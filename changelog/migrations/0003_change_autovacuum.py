"""Autovacuum on the change log by count, not by share of the table.

Every change is inserted unnumbered and then updated once by the sequencer (its cursor is
indexed, so not a HOT update): each leaves a dead row version and a dead entry in the
sequencer's queue index (``sync_change_unsequenced``), which the numbering and the pulls' "anything
unnumbered?" walk until a VACUUM removes it. The default trigger (20 % of the table dead)
lets a month of changes pile up hundreds of thousands of them; 5,000 dead rows at any size,
vacuumed without throttling (a few ms of work each time), keep the queue index a few pages."""

from django.db import migrations

PARAMETERS = "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay"


class Migration(migrations.Migration):
    dependencies = [
        ("changelog", "0002_change_quiet"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE sync_change SET (autovacuum_vacuum_scale_factor = 0,"
            " autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0)",
            reverse_sql=f"ALTER TABLE sync_change RESET ({PARAMETERS})",
        ),
    ]
