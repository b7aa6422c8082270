from django.apps import AppConfig
from django.db.models.signals import post_delete


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Training"

    def ready(self) -> None:
        # Here: the handler's module imports the models, which exist once the apps are ready.
        from workers.file_cleanup import remove_job_folder

        post_delete.connect(remove_job_folder, sender=self.get_model("TrainingJob"), dispatch_uid="job-files")
