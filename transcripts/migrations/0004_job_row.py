# The claimed-job fields come from core.models.JobRow: its help text, no change to the table.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('transcripts', '0003_reap_stale_schedule'),
    ]

    operations = [
        migrations.AlterField(
            model_name='transcript',
            name='attempt_count',
            field=models.PositiveIntegerField(default=0, help_text='Times a worker started this job since it was last queued.'),
        ),
    ]
