# The claimed-job fields come from core.models.JobRow: its help text, no change to the table.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('lectures', '0006_transcripts_moved'),
    ]

    operations = [
        migrations.AlterField(
            model_name='lecture',
            name='attempt_count',
            field=models.PositiveIntegerField(default=0, help_text='Times a worker started this job since it was last queued.'),
        ),
    ]
