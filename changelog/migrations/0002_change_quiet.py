"""Change.quiet: numbered and pulled, not published to sockets (a bulk import's entries).
A column with a constant default: PostgreSQL 11+ adds it without rewriting the table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('changelog', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='change',
            name='quiet',
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
