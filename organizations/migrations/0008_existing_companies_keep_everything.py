"""Plans limit nothing before 0007: every company then stored FREE, the old default, whether
anyone chose it or not. Enforced as written, that would switch screenshots off and start
purging history past 90 days for every existing company on the day this release deploys. So
the companies that exist when this runs move from FREE to ENTERPRISE (no limits): the upgrade
changes nothing for them, and an operator who sells plans sets each one afterwards
(``manage.py set_plan``, the admin). Companies created later start on TRIAL (0007).
TRIAL, PRO and ENTERPRISE were set on purpose and keep their meaning."""

from django.db import migrations


def forwards(apps, schema_editor):
    Company = apps.get_model("organizations", "Company")
    Company.objects.filter(subscription_status="FREE").update(subscription_status="ENTERPRISE")


class Migration(migrations.Migration):
    dependencies = [("organizations", "0007_company_plan_trial_default")]

    # Not reversible into FREE: which companies were FREE is not kept, and moving every
    # ENTERPRISE company to FREE would be worse than leaving them.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
