"""A job that served under a name earlier may be deleted: its history row keeps the job's number."""

from django.db import migrations, models
from django.db.models import F


def copy_job_ids(apps, schema_editor):
    history = apps.get_model("serving", "EndpointHistory")
    history.objects.update(job_number=F("job_id"))


class Migration(migrations.Migration):
    dependencies = [("serving", "0001_endpoints"), ("workers", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="endpointhistory", name="job_number",
            field=models.PositiveBigIntegerField(null=True, help_text="The job's id, kept after the job is deleted."),
        ),
        migrations.RunPython(copy_job_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="endpointhistory", name="job_number",
            field=models.PositiveBigIntegerField(help_text="The job's id, kept after the job is deleted."),
        ),
        migrations.AlterField(
            model_name="endpointhistory", name="job",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=models.deletion.SET_NULL, related_name="endpoint_history",
                to="workers.trainingjob",
            ),
        ),
    ]
