from django.apps import AppConfig
from django.db.models.signals import post_delete


class BuilderConfig(AppConfig):
    name = "builder"
    verbose_name = "Architectures and datasets"

    def ready(self) -> None:
        # Here: the handler's module imports the models, which exist once the apps are ready.
        from builder.file_cleanup import remove_dataset_folder

        post_delete.connect(remove_dataset_folder, sender=self.get_model("Dataset"), dispatch_uid="dataset-files")
